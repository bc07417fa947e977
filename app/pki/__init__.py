"""Public PKI endpoints: CA certificates, CRLs, OCSP and the time-stamp authority."""

from .views import bp

__all__ = ["bp"]
