"""The relationship settings, and spending the contact budget (the ledger)."""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, InvalidInputError, to_money, utcnow
from kehu.relations.budget import (
    DEFAULT_PRIORITIES,
    DEFAULT_WAIT_MIN_PRIORITY,
    BudgetPolicy,
    ContactRequest,
    Verdict,
    decide,
)
from kehu.relations.errors import RelationsErrorCode
from kehu.relations.models import ContactDecision, ContactLedgerEntry, RelationSettings
from kehu.relations.tasks import _require_customer

DEFAULT_SURPRISE_TIERS = ["vip", "high"]
_EDITABLE = (
    "contact_budget",
    "budget_window_days",
    "priorities",
    "wait_min_priority",
    "surprise_every_months",
    "surprise_monthly_budget",
    "surprise_tiers",
    "currency",
)


def get_relation_settings(session: Session) -> RelationSettings:
    """Return the one settings row, creating it with the defaults the first time."""
    row = session.scalar(select(RelationSettings).order_by(RelationSettings.id).limit(1))
    if row is None:
        row = RelationSettings(
            contact_budget=4,
            budget_window_days=30,
            priorities=dict(DEFAULT_PRIORITIES),
            wait_min_priority=DEFAULT_WAIT_MIN_PRIORITY,
            surprise_every_months=6,
            surprise_monthly_budget=Decimal("200.00"),
            surprise_tiers=list(DEFAULT_SURPRISE_TIERS),
            currency="GBP",
        )
        session.add(row)
        session.flush()
    return row


def _check_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(_EDITABLE)
    if unknown:
        raise InvalidInputError(
            f"Unknown setting(s): {', '.join(sorted(unknown))}; editable: {', '.join(_EDITABLE)}.",
            code=RelationsErrorCode.BAD_SETTINGS,
        )
    clean = dict(values)
    for name, low, high in (
        ("contact_budget", 0, 1000),
        ("budget_window_days", 1, 366),
        ("wait_min_priority", 0, 1000),
        ("surprise_every_months", 1, 120),
    ):
        if name in clean:
            value = clean[name]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise InvalidInputError(
                    f"{name} must be a whole number from {low} to {high}, not {value!r}.",
                    code=RelationsErrorCode.BAD_SETTINGS,
                )
    if "surprise_monthly_budget" in clean:
        try:
            amount = to_money(clean["surprise_monthly_budget"])
        except (ValueError, ArithmeticError, TypeError) as exc:
            raise InvalidInputError(
                "surprise_monthly_budget must be an amount such as 250.00.",
                code=RelationsErrorCode.BAD_SETTINGS,
            ) from exc
        if amount < 0:
            raise InvalidInputError(
                "surprise_monthly_budget cannot be negative (0 stops surprises).",
                code=RelationsErrorCode.BAD_SETTINGS,
            )
        clean["surprise_monthly_budget"] = amount
    if "priorities" in clean:
        priorities = clean["priorities"]
        if not isinstance(priorities, dict) or not all(
            isinstance(k, str) and k.strip() and isinstance(v, int) and not isinstance(v, bool)
            for k, v in priorities.items()
        ):
            raise InvalidInputError(
                'priorities must map playbook names to whole numbers, e.g. {"cadence": 80}.',
                code=RelationsErrorCode.BAD_SETTINGS,
            )
        missing = set(DEFAULT_PRIORITIES) - set(priorities)
        if missing:
            raise InvalidInputError(
                f"priorities must keep every playbook; missing: {', '.join(sorted(missing))}.",
                code=RelationsErrorCode.BAD_SETTINGS,
            )
    if "surprise_tiers" in clean and not (
        isinstance(clean["surprise_tiers"], list)
        and all(isinstance(t, str) for t in clean["surprise_tiers"])
    ):
        raise InvalidInputError(
            'surprise_tiers must be a list of tiers, e.g. ["vip", "high"].',
            code=RelationsErrorCode.BAD_SETTINGS,
        )
    if "currency" in clean:
        currency = str(clean["currency"]).strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise InvalidInputError(
                "currency must be a three-letter code such as GBP.",
                code=RelationsErrorCode.BAD_SETTINGS,
            )
        clean["currency"] = currency
    return clean


def update_relation_settings(
    session: Session, values: Mapping[str, Any], *, actor: Actor
) -> RelationSettings:
    """Change some settings; nothing changes when one value is refused."""
    clean = _check_settings(values)
    row = get_relation_settings(session)
    before = {name: _plain(getattr(row, name)) for name in clean}
    for name, value in clean.items():
        setattr(row, name, value)
    session.flush()
    record(
        session,
        actor=actor,
        action="relations.settings.update",
        object_type="relation_settings",
        object_id=row.id,
        summary=", ".join(sorted(clean)),
        changes={"before": before, "after": {k: _plain(v) for k, v in clean.items()}},
    )
    return row


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def budget_policy(settings: RelationSettings) -> BudgetPolicy:
    """Return the budget policy the settings describe."""
    return BudgetPolicy(
        limit=settings.contact_budget,
        window_days=settings.budget_window_days,
        priorities={**DEFAULT_PRIORITIES, **(settings.priorities or {})},
        wait_min_priority=settings.wait_min_priority,
    )


def sent_contacts(
    session: Session, customer_ids: Sequence[int], *, since: datetime
) -> dict[int, list[datetime]]:
    """Return when contacts were sent to these customers since ``since`` (from the ledger)."""
    sent: dict[int, list[datetime]] = defaultdict(list)
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(ContactLedgerEntry.customer_id, ContactLedgerEntry.at).where(
                ContactLedgerEntry.customer_id.in_(ids[start : start + 500]),
                ContactLedgerEntry.decision == ContactDecision.SENT,
                ContactLedgerEntry.at > since,
            )
        ).all()
        for customer_id, at in rows:
            sent[customer_id].append(at)
    return dict(sent)


def spend_contacts(
    session: Session,
    requests: Sequence[ContactRequest],
    *,
    actor: Actor,
    channel: str = "",
    at: datetime | None = None,
) -> list[Verdict]:
    """Decide a batch of contact requests against the budget and log every decision.

    A request whose ``reference`` was already sent (the same customer, playbook and
    reference) is answered SENT again without spending a second contact, so a retried
    delivery is harmless. A request without the customer's consent for ``channel`` and the
    playbook's purpose (:func:`kehu.privacy.consent_refusals`) is DROPPED with the reason,
    spending nothing.
    """
    at = at or utcnow()
    settings = get_relation_settings(session)
    policy = budget_policy(settings)
    for request in requests:
        policy.priority_of(request.playbook)
    repeats: dict[int, Verdict] = {}
    fresh: list[tuple[int, ContactRequest]] = []
    for index, request in enumerate(requests):
        if request.reference and session.scalar(
            select(ContactLedgerEntry.id).where(
                ContactLedgerEntry.customer_id == request.customer_id,
                ContactLedgerEntry.playbook == request.playbook,
                ContactLedgerEntry.reference == request.reference,
                ContactLedgerEntry.decision == ContactDecision.SENT,
            )
        ):
            repeats[index] = Verdict(
                request,
                ContactDecision.SENT,
                policy.priority_of(request.playbook),
                "already sent for this reference; not counted twice",
                -1,
            )
        else:
            fresh.append((index, request))
    refused, fresh = _without_consent(session, fresh, policy, channel)
    history = sent_contacts(
        session,
        [r.customer_id for _, r in fresh],
        since=at - timedelta(days=policy.window_days),
    )
    decided = decide(policy, history, [r for _, r in fresh], at=at)
    for verdict in [*decided, *refused.values()]:
        session.add(
            ContactLedgerEntry(
                customer_id=verdict.request.customer_id,
                playbook=verdict.request.playbook,
                channel=channel[:32],
                decision=verdict.decision,
                priority=verdict.priority,
                reason=verdict.reason[:500],
                reference=verdict.request.reference[:128],
                at=at,
                actor_label=actor.label[:320],
            )
        )
    session.flush()
    if decided or refused:
        counts = {
            d: sum(v.decision == d for v in [*decided, *refused.values()]) for d in ContactDecision
        }
        record(
            session,
            actor=actor,
            action="contact_budget.spend",
            object_type="contact_ledger",
            summary=", ".join(f"{n} {d.value}" for d, n in counts.items() if n),
        )
    answers = {**repeats, **refused}
    answers.update({index: v for (index, _), v in zip(fresh, decided, strict=True)})
    return [answers[i] for i in range(len(requests))]


def _without_consent(
    session: Session,
    requests: list[tuple[int, ContactRequest]],
    policy: BudgetPolicy,
    channel: str,
) -> tuple[dict[int, Verdict], list[tuple[int, ContactRequest]]]:
    """Split ``(index, request)`` pairs into refused verdicts (no consent) and the rest."""
    # Imported here: kehu.privacy builds on the features this one sits beside.
    from kehu.privacy import consent_refusals, purpose_of

    wanted: dict[str, list[int]] = defaultdict(list)
    for _, request in requests:
        wanted[purpose_of(request.playbook)].append(request.customer_id)
    reasons = {
        purpose: consent_refusals(session, ids, channel=channel, purpose=purpose)
        for purpose, ids in wanted.items()
    }
    refused: dict[int, Verdict] = {}
    kept: list[tuple[int, ContactRequest]] = []
    for index, request in requests:
        reason = reasons[purpose_of(request.playbook)].get(request.customer_id)
        if reason is None:
            kept.append((index, request))
        else:
            priority = policy.priority_of(request.playbook)
            refused[index] = Verdict(request, ContactDecision.DROPPED, priority, reason, 0)
    return refused, kept


def spend_contact(
    session: Session,
    *,
    customer_id: int,
    playbook: str,
    actor: Actor,
    channel: str = "",
    reference: str = "",
    at: datetime | None = None,
) -> Verdict:
    """Ask the contact budget for one contact and log the answer (sent, waited or dropped).

    Call it before an outreach contact (an e-mail, an SMS, a WeChat message); make the
    contact only when the verdict's ``decision`` is ``SENT``.

    Raises
    ------
    NotFoundError
        The customer does not exist.
    InvalidInputError
        The playbook is not one the budget knows.
    """
    _require_customer(session, customer_id)
    return spend_contacts(
        session,
        [ContactRequest(customer_id=customer_id, playbook=playbook, reference=reference)],
        actor=actor,
        channel=channel,
        at=at,
    )[0]


def record_contacts_made(
    session: Session,
    contacts: Sequence[tuple[ContactRequest, str, datetime]],
    *,
    actor: Actor,
    reason: str,
) -> int:
    """Count contacts already made outside kehu against the budget (ledger ``sent``).

    For a contact another system reports after the fact (an e-mail it sent): it cannot be
    refused any more, but it uses the customer's budget, so later playbooks wait or drop.
    Each ``(request, channel, at)`` whose reference is already in the ledger as sent (the
    contact was asked for through :func:`spend_contacts`) is skipped, so nothing counts twice.

    Returns
    -------
    int
        The number of contacts written to the ledger.
    """
    settings = get_relation_settings(session)
    policy = budget_policy(settings)
    written = 0
    seen: set[tuple[int, str, str]] = set()
    for request, channel, at in contacts:
        key = (request.customer_id, request.playbook, request.reference)
        if key in seen:
            continue
        seen.add(key)
        if request.reference and session.scalar(
            select(ContactLedgerEntry.id).where(
                ContactLedgerEntry.customer_id == request.customer_id,
                ContactLedgerEntry.playbook == request.playbook,
                ContactLedgerEntry.reference == request.reference,
                ContactLedgerEntry.decision == ContactDecision.SENT,
            )
        ):
            continue
        session.add(
            ContactLedgerEntry(
                customer_id=request.customer_id,
                playbook=request.playbook,
                channel=channel[:32],
                decision=ContactDecision.SENT,
                priority=policy.priority_of(request.playbook),
                reason=reason[:500],
                reference=request.reference[:128],
                at=at,
                actor_label=actor.label[:320],
            )
        )
        written += 1
    if written:
        session.flush()
        record(
            session,
            actor=actor,
            action="contact_budget.reported",
            object_type="contact_ledger",
            summary=f"{written} contact(s) made elsewhere counted against the budget",
        )
    return written


def list_ledger(
    session: Session, customer_id: int, *, limit: int = 50, offset: int = 0
) -> Sequence[ContactLedgerEntry]:
    """Return a customer's contact-budget ledger, newest first."""
    return session.scalars(
        select(ContactLedgerEntry)
        .where(ContactLedgerEntry.customer_id == customer_id)
        .order_by(ContactLedgerEntry.at.desc(), ContactLedgerEntry.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
