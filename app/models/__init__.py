"""Database models; importing this package registers every table."""

from .account import Account, Employment, Role, SubscriberProfile
from .agency import Agency
from .audit import AuditEvent, AuditHead
from .certificate import Certificate, CertificateKind, Crl
from .data_change import ChangeKind, ChangeState, DataChange
from .outbox import OutboxMessage
from .registry import AsnRecord, PopulationRecord
from .signing import AuthenticatorDevice, SignedDocument, Workflow, WorkflowSigner, WorkflowStatus
from .token import LinkToken, OtpCode

__all__ = [
    "Account",
    "Agency",
    "AsnRecord",
    "AuditEvent",
    "AuditHead",
    "AuthenticatorDevice",
    "Certificate",
    "CertificateKind",
    "ChangeKind",
    "ChangeState",
    "Crl",
    "DataChange",
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
