"""Load stage for posts files (social posts and comments): set-wise, upsert on (platform, id).

Every row is validated first (a bad row is reported with its line and loads nothing); then the
good rows' customers are resolved in a few queries and they go to :func:`kehu.voice.upsert_posts`
together, a few statements per 900 posts (row by row, with a savepoint each, an export loaded
at ~160 posts/s; see benchmarks/voice/import_posts.py). The caller's savepoint makes the file
all-or-nothing. Here the text is prepared for the voice feature, which may not use
:mod:`kehu.text` itself: cut at :data:`~kehu.ingest.validation.MAX_POST_TEXT` characters,
normalised for a content hash (the same spam from the same author is marked a duplicate) and
tagged with its language. The author is linked to a customer by the file's ``customer_id`` or
by an identity matching the platform (Weibo uid, WeChat openid/unionid, forum handle).
"""

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.core import Actor, InvalidInputError
from kehu.customers import (
    Customer,
    Identity,
    IdentityKind,
    find_customer_ids,
    normalise_identity,
)
from kehu.ingest.mapping import ResolvedMapping
from kehu.ingest.readers import Row
from kehu.ingest.records import PROGRESS_EVERY, RecordsOutcome
from kehu.ingest.report import ErrorLog
from kehu.ingest.validation import MAX_POST_TEXT, PostRow, validate_row
from kehu.text import has_han, normalize
from kehu.voice import Post, PostIn, PostKind, upsert_posts

#: The identities an author's handle or id may match, per platform (others: a forum handle).
PLATFORM_IDENTITIES: dict[str, tuple[IdentityKind, ...]] = {
    "weibo": (IdentityKind.WEIBO_UID,),
    "wechat": (IdentityKind.WECHAT_OPENID, IdentityKind.WECHAT_UNIONID),
}
_LATIN = re.compile(r"[a-zA-Z]")
_NOT_WORD = re.compile(r"[\W_]+")
#: Values per ``IN`` list: below SQLite's oldest bound-parameter limit (999).
_CHUNK = 900


def text_language(text: str) -> str:
    """Return zh, en, mixed or none (no letters at all: emoji, digits, punctuation)."""
    han, latin = has_han(text), _LATIN.search(text) is not None
    if han and latin:
        return "mixed"
    if han:
        return "zh"
    return "en" if latin else "none"


def text_hash(text: str) -> str:
    """Return the content hash of a text: of its normalised letters and digits.

    Spam varies punctuation and spacing (送餐太慢! / 送餐太慢。); a text of symbols only (emoji)
    is hashed as normalised. "" for no text.
    """
    folded = normalize(text)
    if not folded:
        return ""
    letters = _NOT_WORD.sub("", folded) or folded
    return hashlib.sha256(letters.encode("utf-8")).hexdigest()[:32]


def match_author(session: Session, platform: str, handle: str, author_id: str | None) -> int | None:
    """Return the customer whose identity matches the author on ``platform``, if any."""
    return match_authors(session, [(platform, handle, author_id)])[(platform, handle, author_id)]


AuthorKey = tuple[str, str, str | None]


def match_authors(session: Session, authors: Iterable[AuthorKey]) -> dict[AuthorKey, int | None]:
    """Return the matching customer of every ``(platform, handle, author id)``, set-wise.

    The platform's identity kinds are tried in order (:data:`PLATFORM_IDENTITIES`; a forum
    handle elsewhere), the author id before the handle; merged customers resolve to the one
    they were merged into. One query per identity kind and 900 values, not one per author.
    """
    keys = list(dict.fromkeys(authors))
    # (key, [(kind, canonical value)] in order of preference)
    candidates: list[tuple[AuthorKey, list[tuple[IdentityKind, str]]]] = []
    wanted: dict[IdentityKind, set[str]] = {}
    for key in keys:
        platform, handle, author_id = key
        tries: list[tuple[IdentityKind, str]] = []
        for kind in PLATFORM_IDENTITIES.get(platform, (IdentityKind.FORUM_HANDLE,)):
            for value in (author_id, handle):
                if not value or not value.strip():
                    continue
                try:
                    tries.append(normalise_identity(kind, value))
                except InvalidInputError:
                    continue
        for kind, value in tries:
            wanted.setdefault(kind, set()).add(value)
        candidates.append((key, tries))
    found: dict[tuple[IdentityKind, str], int] = {}
    for kind, values in wanted.items():
        ordered = sorted(values)
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            for value, customer_id in session.execute(
                select(Identity.value, Identity.customer_id).where(
                    Identity.kind == kind, Identity.value.in_(chunk)
                )
            ):
                found[(kind, value)] = customer_id
    survivors = _surviving(session, set(found.values()))
    out: dict[AuthorKey, int | None] = {}
    for key, tries in candidates:
        match = next((found[t] for t in tries if t in found), None)
        out[key] = None if match is None else survivors.get(match, match)
    return out


def _surviving(session: Session, customer_ids: set[int]) -> dict[int, int]:
    """Return ``{customer id: the customer it was finally merged into}`` for merged ones."""
    merged_into: dict[int, int] = {}
    frontier = sorted(customer_ids)
    while frontier:
        step: dict[int, int] = {}
        for start in range(0, len(frontier), _CHUNK):
            rows = session.execute(
                select(Customer.id, Customer.merged_into_id).where(
                    Customer.id.in_(frontier[start : start + _CHUNK]),
                    Customer.merged_into_id.is_not(None),
                )
            )
            step.update({cid: target for cid, target in rows if target is not None})
        merged_into.update(step)
        frontier = sorted(set(step.values()) - merged_into.keys())
    final: dict[int, int] = {}
    for origin in merged_into:
        target, hops = origin, 0
        while target in merged_into and hops <= len(merged_into):  # a cycle cannot loop forever
            target, hops = merged_into[target], hops + 1
        final[origin] = target
    return final


def _post_in(row: PostRow, customer_id: int | None) -> PostIn:
    text = row.text
    truncated = len(text) > MAX_POST_TEXT
    if truncated:
        text = text[:MAX_POST_TEXT]
    return PostIn(
        platform=row.platform,
        external_id=row.external_id,
        author_handle=row.author_handle,
        posted_at=row.posted_at,
        kind=None if row.kind is None else PostKind(row.kind),
        parent_external_id=row.parent_id,
        author_id=row.author_id,
        author_followers=row.author_followers,
        reposts=row.reposts,
        comments=row.comments,
        likes=row.likes,
        url=row.url or "",
        text=text,
        text_hash=text_hash(text),
        language=text_language(text),
        is_truncated=truncated,
        customer_id=customer_id,
        product_sku=row.product_sku,
        topic=row.topic,
    )


def import_posts(
    session: Session,
    rows: Iterator[Row],
    resolved: ResolvedMapping,
    errors: ErrorLog,
    *,
    actor: Actor,
    source: str,
    progress: Callable[[int, int], None] | None = None,
    total: int = 0,
) -> RecordsOutcome:
    """Validate a posts file, then load its good rows set-wise (see the module's description).

    ``actor`` is the import's: the caller records one audit row for the whole file.
    """
    del actor  # the caller's audit row names it
    outcome = RecordsOutcome(counts={"posts": {"created": 0, "updated": 0, "unchanged": 0}})
    context = {"date_format": resolved.date_format}
    seen: dict[str, tuple[int, dict[str, Any]]] = {}
    pending: list[tuple[int, PostRow]] = []
    for line, values in rows:
        outcome.n_rows += 1
        if progress is not None and outcome.n_rows % PROGRESS_EVERY == 0:
            progress(outcome.n_rows, max(total, outcome.n_rows))
        fields = resolved.extract(values)
        row, problems = validate_row(PostRow, fields, context)
        if row is None:
            for name, reason in problems:
                errors.add(line, name, fields.get(name or ""), reason)
            continue
        key = f"{row.platform}:{row.external_id}"
        data = row.model_dump()
        earlier = seen.get(key)
        if earlier is not None:
            if earlier[1] != data:
                errors.add(
                    line,
                    "external_id",
                    key,
                    f"external_id {key} already appears on line {earlier[0]} with different "
                    "data; keep one row per post",
                )
            else:
                outcome.counts["posts"]["unchanged"] += 1
                outcome.n_loaded += 1
            continue
        seen[key] = (line, data)
        pending.append((line, row))

    customers = find_customer_ids(session, [r.customer_id for _, r in pending if r.customer_id])
    authors = match_authors(
        session,
        [(r.platform, r.author_handle, r.author_id) for _, r in pending if not r.customer_id],
    )
    items: list[PostIn] = []
    n_linked = 0
    for line, row in pending:
        if row.customer_id:
            customer_id = customers.get(row.customer_id)
            if customer_id is None:
                errors.add(
                    line,
                    None,
                    None,
                    f"there is no customer with external id {row.customer_id}; import the "
                    "customers first or leave customer_id empty",
                )
                continue
        else:
            customer_id = authors[(row.platform, row.author_handle, row.author_id)]
        n_linked += customer_id is not None
        items.append(_post_in(row, customer_id))

    statuses = upsert_posts(session, items, source=source)
    for status in statuses:
        outcome.counts["posts"][status] += 1
    outcome.n_loaded += len(statuses)
    if n_linked:
        outcome.counts["linked_authors"] = {"n": n_linked}
    n_duplicates = _count_duplicates(session, items)
    if n_duplicates:
        outcome.counts["duplicates"] = {"n": n_duplicates}
    if progress is not None:
        progress(outcome.n_rows, outcome.n_rows)
    return outcome


def _count_duplicates(session: Session, items: Sequence[PostIn]) -> int:
    """Return how many of the file's posts are marked as another's duplicate."""
    by_platform: dict[str, list[str]] = {}
    for item in items:
        if item.text_hash:
            by_platform.setdefault(item.platform, []).append(item.external_id)
    n = 0
    for platform, ids in by_platform.items():
        for start in range(0, len(ids), _CHUNK):
            n += (
                session.scalar(
                    select(func.count()).where(
                        Post.platform == platform,
                        Post.external_id.in_(ids[start : start + _CHUNK]),
                        Post.duplicate_of_id.is_not(None),
                    )
                )
                or 0
            )
    return n


__all__ = [
    "PLATFORM_IDENTITIES",
    "import_posts",
    "match_author",
    "match_authors",
    "text_hash",
    "text_language",
]
