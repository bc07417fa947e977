"""The agency verifier's pages: registration, the queue, decisions, certificates, data changes, reactivation, letters."""

from . import certificates, changes, letters, reactivation  # noqa: F401  (they add their pages to bp)
from .views import bp

__all__ = ["bp"]
