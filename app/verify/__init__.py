"""Public verification (F8): check an uploaded PDF's signatures, and the record behind a stamp's QR code."""

from .views import bp

__all__ = ["bp"]
