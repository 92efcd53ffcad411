"""One contact budget per customer across every playbook: the pure decision.

Every playbook that would reach a customer (recommendations sent out, cadence contacts,
surprises, campaigns) asks first. A customer may receive at most ``limit`` contacts within
any ``window_days``. When the budget is spent, a request *waits* (it may be made once the
oldest contact in the window leaves it) when its playbook's priority is at least
``wait_min_priority``, and is *dropped* otherwise. Within one batch, requests are served by
priority, highest first, so a campaign never takes the slot a fixed-complaint follow-up needs.

This module is pure (no database) so that :mod:`kehu.playbooks.budget` can re-export it and
the serving path can call it directly; :func:`kehu.relations.spend_contact` records the
decisions in the ledger.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kehu.core import InvalidInputError
from kehu.relations.errors import RelationsErrorCode
from kehu.relations.models import ContactDecision

#: The playbooks that share the budget and their default priorities (higher first).
DEFAULT_PRIORITIES: dict[str, int] = {
    "service": 90,
    "cadence": 80,
    "surprise": 60,
    "recommendations": 40,
    "campaign": 20,
}
#: Requests at least this important wait for a slot; less important ones are dropped.
DEFAULT_WAIT_MIN_PRIORITY = 50


@dataclass(frozen=True)
class BudgetPolicy:
    """The budget: ``limit`` contacts per ``window_days``, and each playbook's priority."""

    limit: int = 4
    window_days: int = 30
    priorities: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    wait_min_priority: int = DEFAULT_WAIT_MIN_PRIORITY

    def priority_of(self, playbook: str) -> int:
        """Return a playbook's priority; refuse playbooks the policy does not know."""
        try:
            return int(self.priorities[playbook])
        except KeyError:
            raise InvalidInputError(
                f"Unknown playbook {playbook!r}; the contact budget knows "
                f"{', '.join(sorted(self.priorities))}.",
                code=RelationsErrorCode.BAD_PLAYBOOK,
            ) from None


@dataclass(frozen=True)
class ContactRequest:
    """A playbook that wants to contact a customer."""

    customer_id: int
    playbook: str
    reference: str = ""


@dataclass(frozen=True)
class Verdict:
    """The budget's answer to one request, with the reason a person can read."""

    request: ContactRequest
    decision: ContactDecision
    priority: int
    reason: str
    remaining: int
    retry_at: datetime | None = None


def decide(
    policy: BudgetPolicy,
    sent_at: Mapping[int, Sequence[datetime]],
    requests: Sequence[ContactRequest],
    *,
    at: datetime,
) -> list[Verdict]:
    """Decide each request against the budget (pure), in the order given back.

    Parameters
    ----------
    policy
        The budget.
    sent_at
        Per customer, when the contacts already sent were made (any order; older ones than the
        window are ignored).
    requests
        The contacts wanted now; several for one customer compete by priority.
    at
        The moment of the decision.
    """
    window = timedelta(days=policy.window_days)
    used: dict[int, list[datetime]] = {}
    for request in requests:
        if request.customer_id not in used:
            used[request.customer_id] = sorted(
                t for t in sent_at.get(request.customer_id, ()) if at - window < t <= at
            )
    order = sorted(
        range(len(requests)),
        key=lambda i: (-policy.priority_of(requests[i].playbook), i),
    )
    verdicts: dict[int, Verdict] = {}
    for i in order:
        request = requests[i]
        priority = policy.priority_of(request.playbook)
        times = used[request.customer_id]
        remaining = policy.limit - len(times)
        if policy.limit <= 0:
            verdicts[i] = Verdict(
                request,
                ContactDecision.DROPPED,
                priority,
                "the contact budget is 0, so no playbook may contact customers",
                0,
            )
            continue
        if remaining > 0:
            times.append(at)
            verdicts[i] = Verdict(
                request,
                ContactDecision.SENT,
                priority,
                f"{len(times)} of {policy.limit} contacts in {policy.window_days} days",
                remaining - 1,
            )
            continue
        spent = (
            f"{len(times)} of {policy.limit} contacts in the last {policy.window_days} days "
            "already made"
        )
        if priority >= policy.wait_min_priority:
            retry_at = times[0] + window
            verdicts[i] = Verdict(
                request,
                ContactDecision.WAITED,
                priority,
                f"{spent}; waits until {retry_at:%Y-%m-%d} (priority {priority})",
                0,
                retry_at,
            )
        else:
            verdicts[i] = Verdict(
                request,
                ContactDecision.DROPPED,
                priority,
                f"{spent}; dropped (priority {priority} is below "
                f"{policy.wait_min_priority}, the least that waits)",
                0,
            )
    return [verdicts[i] for i in range(len(requests))]
