"""Privacy (issue 9 §2): a person's data on request, erasure with tombstones, opt-outs."""

from kehu.privacy.consent import (
    OPT_IN_CHANNELS,
    PLAYBOOK_PURPOSES,
    consent_refusals,
    purpose_of,
)
from kehu.privacy.erasure import (
    ERASED_NAME,
    ErasureResult,
    erase_customer,
    erased_identity,
    identity_digest,
    refuse_erased_identity,
    refuse_erased_record,
)
from kehu.privacy.errors import PrivacyErrorCode
from kehu.privacy.models import AutomatedDecisionOptOut, ErasureTombstone
from kehu.privacy.operations import export_customer
from kehu.privacy.optout import (
    OPTED_OUT_REASON,
    OPTED_OUT_TEXT,
    AutomatedDecisionsPublic,
    automated_decisions,
    is_opted_out,
    opted_out_clause,
    opted_out_ids,
    refuse_opted_out_scores,
    set_automated_decisions_opt_out,
)
from kehu.privacy.retention import RetentionReport, inactive_customer_ids, run_retention
from kehu.privacy.schemas import EXPORT_FORMAT, PersonalDataExport
from kehu.privacy.unblock import UnblockResult, lift_erasure_block

__all__ = [
    "ERASED_NAME",
    "EXPORT_FORMAT",
    "OPTED_OUT_REASON",
    "OPTED_OUT_TEXT",
    "OPT_IN_CHANNELS",
    "PLAYBOOK_PURPOSES",
    "AutomatedDecisionOptOut",
    "AutomatedDecisionsPublic",
    "ErasureResult",
    "ErasureTombstone",
    "PersonalDataExport",
    "PrivacyErrorCode",
    "RetentionReport",
    "UnblockResult",
    "automated_decisions",
    "consent_refusals",
    "erase_customer",
    "erased_identity",
    "export_customer",
    "identity_digest",
    "inactive_customer_ids",
    "is_opted_out",
    "lift_erasure_block",
    "opted_out_clause",
    "opted_out_ids",
    "purpose_of",
    "refuse_erased_identity",
    "refuse_erased_record",
    "refuse_opted_out_scores",
    "run_retention",
    "set_automated_decisions_opt_out",
]
