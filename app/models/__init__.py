"""Database models; importing this package registers every table."""

from .audit import AuditEvent, AuditHead
from .certificate import Certificate, CertificateKind, Crl

__all__ = ["AuditEvent", "AuditHead", "Certificate", "CertificateKind", "Crl"]
