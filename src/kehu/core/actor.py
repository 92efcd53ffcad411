"""Who does a thing: every write names its actor so the audit log can tell."""

from dataclasses import dataclass
from typing import Literal

ActorKind = Literal["user", "system", "import", "rule", "api_token"]


@dataclass(frozen=True, slots=True)
class Actor:
    """The author of a state change.

    Parameters
    ----------
    kind
        What acted: a signed-in user, the system (scheduled jobs), an import, a rule.
    label
        A human-readable name kept in the audit log even after the user is deleted.
    user_id
        The acting user's id, when a user (or a user's API token) acted.
    """

    kind: ActorKind
    label: str
    user_id: int | None = None

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        """Return the actor for work the product does on its own."""
        return cls(kind="system", label=label)
