"""The agency verifier's pages: registration, CSV import, the queue, decisions."""

from . import changes  # noqa: F401  (data changes and migrations add their routes to bp)
from .views import bp

__all__ = ["bp"]
