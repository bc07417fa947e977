"""Sequential signing workflows (F7): create, follow progress, sign or decline in turn."""

from .views import bp

__all__ = ["bp"]
