"""Cloud Signature Consortium API v2 (``/csc/v2``): remote hash signing for pyHanko and other CSC clients."""

from .views import bp

__all__ = ["bp"]
