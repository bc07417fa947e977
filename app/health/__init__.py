"""Health check for operators and load balancers."""

from .views import bp

__all__ = ["bp"]
