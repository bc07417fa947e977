"""Database models; importing this package registers every table."""

from .account import Account, Employment, Role, SubscriberProfile
from .agency import Agency
from .audit import AuditEvent, AuditHead
from .certificate import Certificate, CertificateKind, Crl
from .outbox import OutboxMessage
from .registry import AsnRecord, PopulationRecord
from .token import LinkToken, OtpCode

__all__ = [
    "Account",
    "Agency",
    "AsnRecord",
    "AuditEvent",
    "AuditHead",
    "Certificate",
    "CertificateKind",
    "Crl",
    "Employment",
    "LinkToken",
    "OtpCode",
    "OutboxMessage",
    "PopulationRecord",
    "Role",
    "SubscriberProfile",
]
