"""Database models; importing this package registers every table."""

from .account import Account, Employment, Role, SubscriberProfile
from .agency import Agency
from .api_client import ApiClient
from .audit import AuditEvent, AuditHead
from .certificate import Certificate, CertificateKind, Crl
from .outbox import OutboxMessage
from .registry import AsnRecord, PopulationRecord
from .signing import AuthenticatorDevice, SignedDocument, Workflow, WorkflowSigner, WorkflowStatus
from .token import LinkToken, OtpCode

__all__ = [
    "Account",
    "Agency",
    "ApiClient",
    "AsnRecord",
    "AuditEvent",
    "AuditHead",
    "AuthenticatorDevice",
    "Certificate",
    "CertificateKind",
    "Crl",
    "Employment",
    "LinkToken",
    "OtpCode",
    "OutboxMessage",
    "PopulationRecord",
    "Role",
    "SignedDocument",
    "SubscriberProfile",
    "Workflow",
    "WorkflowSigner",
    "WorkflowStatus",
]
