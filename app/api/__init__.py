"""eSign client API v2 compatibility (``/api/v2``): integrated applications sign and verify PDFs over JSON."""

from .views import bp

__all__ = ["bp"]
