"""The agency verifier's pages: registration, CSV import, the queue, decisions."""

from . import reactivation  # noqa: F401  (adds its pages to the blueprint)
from .views import bp

__all__ = ["bp"]
