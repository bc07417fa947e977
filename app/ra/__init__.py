"""The central RA's pages: migration tickets, data-change requests, suspensions, each with its service clock."""

from . import suspensions  # noqa: F401  (adds its pages to the blueprint)
from .views import bp

__all__ = ["bp"]
