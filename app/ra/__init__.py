"""The central RA's pages: migration tickets, data-change requests, suspensions, each with its service clock."""

from . import letter_settings, suspensions  # noqa: F401  (add their pages to the blueprint)
from .views import bp

__all__ = ["bp"]
