"""Developer page listing the outbox, with the links of unsent messages (debug or ``OUTBOX_PAGE`` only)."""

from .views import bp

__all__ = ["bp"]
