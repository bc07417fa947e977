"""The signing portal (F6): upload PDFs, place the stamp, sign with the passphrase, download, history."""

from .views import bp

__all__ = ["bp"]
