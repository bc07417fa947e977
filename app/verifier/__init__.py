"""The agency verifier's pages: registration, CSV import, the queue, decisions, certificate actions, reactivation, request letters."""

from . import certificates, letters, reactivation  # noqa: F401  (they add their pages to bp)
from .views import bp

__all__ = ["bp"]
