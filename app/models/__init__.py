"""Database models; importing this package registers every table."""

from .account import Account, Employment, Role, SubscriberProfile
from .agency import Agency
from .api_client import ApiClient
from .audit import AuditEvent, AuditHead
from .certificate import Certificate, CertificateKind, Crl
from .data_change import ChangeKind, ChangeState, DataChange
from .heartbeat import LoopHeartbeat
from .outbox import OutboxMessage
from .registry import AsnRecord, PopulationRecord
from .renewal import ExpiryReminder, RenewalRequest
from .request_letter import DispositionStep, RequestLetter
from .seal import Seal, SealActivation, SealCode, SealedDocument
from .signing import AuthenticatorDevice, SignedDocument, Workflow, WorkflowSigner, WorkflowStatus
from .suspension import ReactivationDocument, Suspension
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
    "ChangeKind",
    "ChangeState",
    "Crl",
    "DataChange",
    "DispositionStep",
    "Employment",
    "ExpiryReminder",
    "LinkToken",
    "LoopHeartbeat",
    "OtpCode",
    "OutboxMessage",
    "PopulationRecord",
    "ReactivationDocument",
    "RenewalRequest",
    "RequestLetter",
    "Role",
    "Seal",
    "SealActivation",
    "SealCode",
    "SealedDocument",
    "SignedDocument",
    "SubscriberProfile",
    "Suspension",
    "Workflow",
    "WorkflowSigner",
    "WorkflowStatus",
]
