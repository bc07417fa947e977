"""The central RA's pages: migration tickets, data-change requests, suspensions, each with its service clock."""

from . import letter_settings, suspensions, tickets  # noqa: F401  (they add their pages to bp)
from .views import bp

__all__ = ["bp"]
