"""The agency head's pages: data-change forms of their agency to read and sign (F14)."""

from .views import bp

__all__ = ["bp"]
