"""Agency electronic seals in the portal: the agency's seals and requests, and the central RA's decisions."""

from .views import bp

__all__ = ["bp"]
