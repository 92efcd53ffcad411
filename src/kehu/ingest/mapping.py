"""Map stage: which column of the file feeds which kehu field.

A mapping is ``{kehu field: source column}``; fields it leaves out are matched by name
(case and separators ignored) or by a known alias (Online Retail II's ``Invoice``,
``StockCode``, ``Customer ID``...). The key ``__date_format__`` may carry a
:func:`datetime.strptime` format for files whose dates are ambiguous (``03/04/2010``).
"""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, InvalidInputError, NotFoundError
from kehu.ingest.kinds import ALIASES, check_kind, normalise_name
from kehu.ingest.models import ImportMapping

DATE_FORMAT_KEY = "__date_format__"


@dataclass(frozen=True)
class ResolvedMapping:
    """The column index feeding each field, and the chosen date format."""

    indexes: dict[str, int]
    columns: dict[str, str]
    date_format: str | None

    def extract(self, values: list[str | None]) -> dict[str, str | None]:
        """Return ``{field: text}`` for one row."""
        width = len(values)
        return {f: values[i] if i < width else None for f, i in self.indexes.items()}


def resolve_mapping(
    kind: str, columns: list[str], mapping: dict[str, str] | None
) -> ResolvedMapping:
    """Match the file's columns to the fields of ``kind``.

    Raises
    ------
    InvalidInputError
        When the mapping names a field or column that does not exist, or a required field has
        no column.
    """
    specs = check_kind(kind)
    fields = [spec.name for spec in specs]
    given = dict(mapping or {})
    date_format = given.pop(DATE_FORMAT_KEY, None) or None
    unknown_fields = sorted(set(given) - set(fields))
    if unknown_fields:
        raise InvalidInputError(
            f"The mapping names unknown {kind} field(s) {', '.join(unknown_fields)}; "
            f"the fields are {', '.join(fields)}.",
            code="ingest.unknown_field",
        )
    position = {name: i for i, name in reversed(list(enumerate(columns)))}
    indexes: dict[str, int] = {}
    for field, column in given.items():
        if not column:
            continue
        if column not in position:
            raise InvalidInputError(
                f"The mapping sends column {column!r} to {field}, but the file has no such "
                f"column; its columns are: {', '.join(columns)}.",
                code="ingest.unknown_column",
            )
        indexes[field] = position[column]
    _match_by_name(kind, columns, indexes, skip=set(given))
    missing = [spec.name for spec in specs if spec.required and spec.name not in indexes]
    if missing:
        raise InvalidInputError(
            f"No column of the file gives the required {kind} field(s) {', '.join(missing)}; "
            f"the file's columns are: {', '.join(columns) or '(none)'}. Rename the columns or "
            "map them.",
            code="ingest.missing_field",
        )
    return ResolvedMapping(
        indexes, {f: columns[i] for f, i in indexes.items()}, date_format=date_format
    )


def _match_by_name(
    kind: str, columns: list[str], indexes: dict[str, int], *, skip: set[str]
) -> None:
    """Add to ``indexes`` the fields found by name or alias (case and separators ignored).

    A column feeds one field at most; fields in ``indexes`` or ``skip`` are left alone.
    """
    folded: dict[str, int] = {}
    for i, name in enumerate(columns):
        folded.setdefault(normalise_name(name), i)
    taken = set(indexes.values())
    aliases = ALIASES.get(kind, {})
    for spec in check_kind(kind):
        field = spec.name
        if field in indexes or field in skip:
            continue
        for candidate in (field, *aliases.get(field, ())):
            index = folded.get(normalise_name(candidate))
            if index is not None and index not in taken:
                indexes[field] = index
                taken.add(index)
                break


def suggest_mapping(kind: str, columns: list[str]) -> dict[str, str]:
    """Return the mapping an import would use on its own: ``{kehu field: source column}``.

    The same matching as :func:`resolve_mapping` with no mapping given (by name or known
    alias, case and separators ignored, each column used once), but it never raises for a
    missing required field: a mapping screen shows the gaps instead.

    Raises
    ------
    InvalidInputError
        For an unknown kind.

    Examples
    --------
    >>> suggest_mapping("orders", ["Invoice", "StockCode", "Qty", "备注"])
    {'order_id': 'Invoice', 'sku': 'StockCode', 'quantity': 'Qty'}
    """
    indexes: dict[str, int] = {}
    _match_by_name(kind, columns, indexes, skip=set())
    order = {spec.name: n for n, spec in enumerate(check_kind(kind))}
    return {f: columns[i] for f, i in sorted(indexes.items(), key=lambda item: order[item[0]])}


def delete_mapping(session: Session, *, mapping_id: int, actor: Actor) -> None:
    """Delete a saved mapping (imports already run keep their own copy of it).

    Raises
    ------
    NotFoundError
        When there is no saved mapping ``mapping_id``.
    """
    saved = session.get(ImportMapping, mapping_id)
    if saved is None:
        raise NotFoundError(
            f"There is no saved mapping {mapping_id}; it may have been deleted already.",
            code="ingest.mapping_not_found",
        )
    kind, name, columns = saved.kind, saved.name, dict(saved.columns)
    session.delete(saved)
    session.flush()
    record(
        session,
        actor=actor,
        action="import_mapping.delete",
        object_type="import_mapping",
        object_id=mapping_id,
        summary=f"{kind}: {name}",
        changes={"columns": columns},
    )
