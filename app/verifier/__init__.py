"""The agency verifier's pages: registration, CSV import, the queue, decisions."""

from . import letters, reactivation  # noqa: F401  (add their pages to the blueprint)
from .views import bp

__all__ = ["bp"]
