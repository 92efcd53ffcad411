"""Load stage for posts files (social posts and comments): row by row, upsert on (platform, id).

Each row goes through :func:`kehu.voice.upsert_post` inside a savepoint (a row loads whole or
is reported). Here the text is prepared for the voice feature, which may not use
:mod:`kehu.text` itself: cut at :data:`~kehu.ingest.validation.MAX_POST_TEXT` characters,
normalised for a content hash (the same spam from the same author is marked a duplicate) and
tagged with its language. The author is linked to a customer by the file's ``customer_id`` or
by an identity matching the platform (Weibo uid, WeChat openid/unionid, forum handle).
"""

import hashlib
import re
from collections.abc import Callable, Iterator

from sqlalchemy.orm import Session
from typing_extensions import override

from kehu.core import Actor, InvalidInputError
from kehu.customers import IdentityKind, find_customer_by_identity, find_customer_ids
from kehu.ingest.mapping import ResolvedMapping
from kehu.ingest.readers import Row
from kehu.ingest.records import RecordsOutcome, _Loader
from kehu.ingest.report import ErrorLog
from kehu.ingest.validation import MAX_POST_TEXT, PostRow
from kehu.text import has_han, normalize
from kehu.voice import PostIn, PostKind, upsert_post

#: The identities an author's handle or id may match, per platform (others: a forum handle).
PLATFORM_IDENTITIES: dict[str, tuple[IdentityKind, ...]] = {
    "weibo": (IdentityKind.WEIBO_UID,),
    "wechat": (IdentityKind.WECHAT_OPENID, IdentityKind.WECHAT_UNIONID),
}
_LATIN = re.compile(r"[a-zA-Z]")
_NOT_WORD = re.compile(r"[\W_]+")


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
    kinds = PLATFORM_IDENTITIES.get(platform, (IdentityKind.FORUM_HANDLE,))
    for kind in kinds:
        for value in (author_id, handle):
            if not value or not value.strip():
                continue
            try:
                customer = find_customer_by_identity(session, kind, value)
            except InvalidInputError:
                continue
            if customer is not None:
                return customer.id
    return None


class _Posts(_Loader):
    entity = "posts"
    #: Customers matched per (platform, handle, author id) in this file.
    authors: dict[tuple[str, str, str | None], int | None]

    @override
    def key(self, row: PostRow) -> tuple[str | None, str | None]:
        return f"{row.platform}:{row.external_id}", "external_id"

    @override
    def load(self, row: PostRow) -> str:
        customer_id: int | None = None
        if row.customer_id:
            customer_id = find_customer_ids(self.session, [row.customer_id]).get(row.customer_id)
            if customer_id is None:
                raise ValueError(
                    f"there is no customer with external id {row.customer_id}; import the "
                    "customers first or leave customer_id empty"
                )
        else:
            key = (row.platform, row.author_handle, row.author_id)
            if key not in self.authors:
                self.authors[key] = match_author(self.session, *key)
            customer_id = self.authors[key]
        if customer_id is not None:
            linked = self.outcome.counts.setdefault("linked_authors", {"n": 0})
            linked["n"] += 1
        text = row.text
        truncated = len(text) > MAX_POST_TEXT
        if truncated:
            text = text[:MAX_POST_TEXT]
        post, status = upsert_post(
            self.session,
            PostIn(
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
            ),
            source=self.source,
        )
        if post.duplicate_of_id is not None:
            spam = self.outcome.counts.setdefault("duplicates", {"n": 0})
            spam["n"] += 1
        return status


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
    """Validate and load a posts file row by row (see the module's description)."""
    loader = _Posts(session, resolved, errors, actor, source)
    loader.authors = {}
    return loader.run(rows, PostRow, progress, total)


__all__ = ["PLATFORM_IDENTITIES", "import_posts", "match_author", "text_hash", "text_language"]
