"""Every table of every feature, imported in one place for Alembic and for tests.

The store package must not import features (ARCHITECTURE.md), so the migration environment
imports this module instead.
"""

from kehu.audit.models import AuditEntry
from kehu.commerce.models import Order, OrderLine, Product
from kehu.customers.models import Consent, Contact, Customer, CustomerMerge, Identity
from kehu.engagement.models import Interaction, RecommendationEvent
from kehu.health.models import CustomerHealth, HealthRun
from kehu.ingest.models import ImportMapping, ImportRun
from kehu.privacy.models import AutomatedDecisionOptOut, ErasureTombstone
from kehu.relations.models import (
    CadencePolicy,
    ContactLedgerEntry,
    Referral,
    RelationSettings,
    Rule,
    ServiceReminder,
    Surprise,
    SurpriseGift,
    Task,
)
from kehu.service.models import (
    CanonicalAnswer,
    Category,
    PolicyDecision,
    SlaPolicy,
    Ticket,
    TicketEvent,
    TicketMessage,
)
from kehu.store import Base
from kehu.throttle.models import LoginFailure
from kehu.users.models import ApiToken, Department, User
from kehu.value.models import CustomerValue, ValueRun
from kehu.voice.models import (
    Alert,
    Crisis,
    CrisisEvent,
    DemandTerm,
    Mention,
    Poll,
    PollOption,
    PollVote,
    Post,
    VoiceSettings,
)
from kehu.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

metadata = Base.metadata

__all__ = [
    "Alert",
    "ApiToken",
    "AuditEntry",
    "AutomatedDecisionOptOut",
    "CadencePolicy",
    "CanonicalAnswer",
    "Category",
    "Consent",
    "Contact",
    "ContactLedgerEntry",
    "Crisis",
    "CrisisEvent",
    "Customer",
    "CustomerHealth",
    "CustomerMerge",
    "CustomerValue",
    "DemandTerm",
    "Department",
    "ErasureTombstone",
    "HealthRun",
    "Identity",
    "ImportMapping",
    "ImportRun",
    "Interaction",
    "LoginFailure",
    "Mention",
    "Order",
    "OrderLine",
    "PolicyDecision",
    "Poll",
    "PollOption",
    "PollVote",
    "Post",
    "Product",
    "RecommendationEvent",
    "Referral",
    "RelationSettings",
    "Rule",
    "ServiceReminder",
    "SlaPolicy",
    "Surprise",
    "SurpriseGift",
    "Task",
    "Ticket",
    "TicketEvent",
    "TicketMessage",
    "User",
    "ValueRun",
    "VoiceSettings",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
    "metadata",
]
