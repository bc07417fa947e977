"""The central RA's pages: migration tickets, data-change requests, suspensions, each with its service clock."""

from .views import bp

__all__ = ["bp"]
