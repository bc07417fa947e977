"""Portal sign-in and sign-out."""

from . import authenticator_reset  # noqa: F401  (adds the reset-authenticator link to the blueprint)
from .views import bp

__all__ = ["bp"]
