"""The central RA's pages: migration tickets, data-change requests, suspensions, each with its service clock."""

from . import tickets  # noqa: F401  (migration tickets and data-change requests add their routes to bp)
from .views import bp

__all__ = ["bp"]
