"""Administrator pages: integration API clients."""

from .views import bp

__all__ = ["bp"]
