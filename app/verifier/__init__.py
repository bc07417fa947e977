"""The agency verifier's pages: registration, CSV import, the queue, decisions, certificate actions."""

from . import certificates  # noqa: F401  (adds the certificate actions to bp)
from .views import bp

__all__ = ["bp"]
