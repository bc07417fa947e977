"""The agency verifier's pages: registration, CSV import, the queue, decisions."""

from .views import bp

__all__ = ["bp"]
