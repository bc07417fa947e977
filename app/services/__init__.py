"""Services: plain functions on plain values; they add and flush, the caller commits."""
