"""Control-plane models, one module per domain. Importing this package registers every table
on `Base.metadata` (migrations and tests compare against it)."""

from bluelamp.store.models.accounts import PRIVILEGED, ApiToken, Role, User, WebSession
from bluelamp.store.models.audit import AuditEntry
from bluelamp.store.models.base import Base
from bluelamp.store.models.notifications import (
    Cleanup,
    DeliveryAttempt,
    Notice,
    NoticeItem,
    NoticeStatus,
    NotifyContact,
)
from bluelamp.store.models.orgs import Organisation, OrgAsn, OrgDomain, OrgNetwork, Status
from bluelamp.store.models.reports import (
    Outcome,
    ProposalStatus,
    PublicReport,
    ReportAction,
    ReportStatus,
    SuspensionProposal,
)
from bluelamp.store.models.subscriptions import (
    LawEnforcementShare,
    Subscription,
    WebhookDelivery,
)
from bluelamp.store.models.suspensions import (
    Agency,
    AgencyOfficer,
    Complaint,
    Evidence,
    SuspensionItem,
    SuspensionRequest,
)

__all__ = [
    "PRIVILEGED",
    "Agency",
    "AgencyOfficer",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Cleanup",
    "Complaint",
    "DeliveryAttempt",
    "Evidence",
    "LawEnforcementShare",
    "Notice",
    "NoticeItem",
    "NoticeStatus",
    "NotifyContact",
    "OrgAsn",
    "OrgDomain",
    "OrgNetwork",
    "Organisation",
    "Outcome",
    "ProposalStatus",
    "PublicReport",
    "ReportAction",
    "ReportStatus",
    "Role",
    "Status",
    "Subscription",
    "SuspensionItem",
    "SuspensionProposal",
    "SuspensionRequest",
    "User",
    "WebSession",
    "WebhookDelivery",
]
