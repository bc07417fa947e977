"""The subscriber's own profile (self-service edits when no certificate is active) and the data-change confirmation."""

from .views import bp

__all__ = ["bp"]
