"""The subscriber's certificate pages: passphrase change and reset, revocation, renewal."""

from .views import bp

__all__ = ["bp"]
