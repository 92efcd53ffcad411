"""Demand sensing: dictionaries of attribute variants (zh and en) and their mentions over time.

A dictionary is data (:class:`kehu.voice.models.DemandTerm`): ``colour=white`` is named by
白色 and by "white". Chinese terms match as substrings of the normalised text (Chinese has no
spaces), other terms as whole words. A post counts once per (attribute, value), however often
it repeats the word. Matching wants texts and terms normalised the same way (the scoring job
uses :func:`kehu.text.normalize` on both).
"""

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, ConflictError, InvalidInputError, NotFoundError, utcnow
from kehu.voice.errors import VoiceErrorCode
from kehu.voice.models import DemandTerm, Mention

_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# (attribute, value, terms in Chinese, terms in English). Chinese terms have two characters
# at least: a lone 白 is also 白天 (daytime) and 明白 (understood).
_DEFAULTS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("colour", "white", ("白色", "纯白", "白款"), ("white",)),
    ("colour", "black", ("黑色", "纯黑", "黑款"), ("black",)),
    ("colour", "red", ("红色", "大红"), ("red",)),
    ("colour", "blue", ("蓝色", "深蓝", "浅蓝"), ("blue", "navy")),
    ("colour", "green", ("绿色", "墨绿"), ("green",)),
    ("colour", "pink", ("粉色", "粉红"), ("pink",)),
    ("colour", "grey", ("灰色", "深空灰"), ("grey", "gray")),
    ("colour", "gold", ("金色", "香槟金"), ("gold",)),
    ("colour", "silver", ("银色",), ("silver",)),
    ("size", "small", ("小码", "偏小", "小号"), ("small", "xs")),
    ("size", "large", ("大码", "偏大", "大号", "加大"), ("large", "xl", "xxl")),
    ("size", "fits", ("合身", "尺码标准", "大小合适"), ("true to size", "fits well")),
    ("feature", "battery", ("电池", "续航", "充电"), ("battery", "charging")),
    ("feature", "screen", ("屏幕", "显示屏"), ("screen", "display")),
    ("feature", "camera", ("拍照", "摄像头", "相机"), ("camera",)),
    ("feature", "noise", ("噪音", "声音大", "静音"), ("noise", "noisy", "quiet")),
    ("feature", "delivery", ("物流", "快递", "送餐", "配送", "送货"), ("delivery", "shipping")),
    ("feature", "packaging", ("包装",), ("packaging", "package")),
    ("feature", "taste", ("口味", "味道", "好吃", "难吃"), ("taste", "flavour", "flavor")),
    ("feature", "price", ("价格", "性价比", "便宜"), ("price", "cheap", "expensive")),
    ("feature", "quality", ("质量", "做工", "品质"), ("quality",)),
    ("feature", "service", ("服务", "客服", "态度"), ("service", "support")),
)


def fold_term(term: str) -> str:
    """Return a term as stored: NFKC, lower case, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", term).lower().split())


def term_language(term: str) -> str:
    """Return ``zh`` for a term with Chinese characters, else ``en``."""
    return "zh" if _HAN.search(term) else "en"


@dataclass(frozen=True)
class TermMatcher:
    """Finds the (attribute, value) pairs a normalised text names."""

    substrings: tuple[tuple[str, str, str], ...]
    words: re.Pattern[str] | None
    word_values: dict[str, tuple[str, str]]

    @classmethod
    def build(cls, terms: Iterable[tuple[str, str, str]]) -> "TermMatcher":
        """Return a matcher for ``(attribute, value, normalised term)`` triples."""
        substrings: list[tuple[str, str, str]] = []
        word_values: dict[str, tuple[str, str]] = {}
        for attribute, value, term in terms:
            if not term:
                continue
            if _HAN.search(term):
                substrings.append((attribute, value, term))
            else:
                word_values[term] = (attribute, value)
        words = None
        if word_values:
            alternatives = "|".join(
                re.escape(w) for w in sorted(word_values, key=len, reverse=True)
            )
            words = re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])")
        return cls(tuple(substrings), words, word_values)

    def find(self, text: str) -> set[tuple[str, str]]:
        """Return the (attribute, value) pairs ``text`` (normalised) names.

        Examples
        --------
        >>> m = TermMatcher.build([("colour", "white", "白色"), ("colour", "white", "white")])
        >>> sorted(m.find("想要白色的, white 更好看"))
        [('colour', 'white')]
        """
        found = {(a, v) for a, v, term in self.substrings if term in text}
        if self.words is not None:
            found.update(self.word_values[m.group(0)] for m in self.words.finditer(text))
        return found


def list_terms(session: Session, attribute: str | None = None) -> Sequence[DemandTerm]:
    """Return the dictionary (of one attribute, or all), by attribute, value and term."""
    query = select(DemandTerm)
    if attribute:
        query = query.where(DemandTerm.attribute == attribute)
    return session.scalars(
        query.order_by(DemandTerm.attribute, DemandTerm.value, DemandTerm.term)
    ).all()


def add_term(
    session: Session, *, attribute: str, value: str, term: str, actor: Actor
) -> DemandTerm:
    """Add a word to the dictionary.

    Raises
    ------
    InvalidInputError
        For a malformed attribute (``a-z0-9_``) or an empty or too long value or term.
    ConflictError
        When the attribute already has this term.
    """
    attribute = attribute.strip().lower()
    value = fold_term(value)
    folded = fold_term(term)
    if not _NAME.match(attribute):
        raise InvalidInputError(
            "attribute: use 1 to 64 lower-case letters, digits or underscores (colour, size).",
            code=VoiceErrorCode.BAD_TERM,
        )
    if not 0 < len(value) <= 100 or not 0 < len(folded) <= 100:
        raise InvalidInputError(
            "value and term need 1 to 100 characters.", code=VoiceErrorCode.BAD_TERM
        )
    if session.scalar(
        select(DemandTerm.id).where(DemandTerm.attribute == attribute, DemandTerm.term == folded)
    ):
        raise ConflictError(
            f"The {attribute} dictionary already has {folded!r}.", code=VoiceErrorCode.TERM_EXISTS
        )
    row = DemandTerm(attribute=attribute, value=value, term=folded, language=term_language(folded))
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="voice.term_add",
        object_type="voice_demand_term",
        object_id=row.id,
        summary=f"{attribute}={value}: {folded}",
    )
    return row


def delete_term(session: Session, term_id: int, *, actor: Actor) -> None:
    """Remove a word from the dictionary (mentions already counted stay)."""
    row = session.get(DemandTerm, term_id)
    if row is None:
        raise NotFoundError(f"There is no term {term_id}.", code=VoiceErrorCode.TERM_NOT_FOUND)
    summary = f"{row.attribute}={row.value}: {row.term}"
    session.delete(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="voice.term_delete",
        object_type="voice_demand_term",
        object_id=term_id,
        summary=summary,
    )


def seed_default_terms(session: Session, *, actor: Actor) -> int:
    """Add the default dictionaries when there is none; return how many terms were added."""
    if session.scalar(select(func.count()).select_from(DemandTerm)):
        return 0
    rows = [
        DemandTerm(attribute=a, value=v, term=fold_term(t), language=term_language(t))
        for a, v, zh, en in _DEFAULTS
        for t in (*zh, *en)
    ]
    session.add_all(rows)
    session.flush()
    record(
        session,
        actor=actor,
        action="voice.terms_seed",
        object_type="voice_demand_term",
        summary=f"{len(rows)} default demand terms",
    )
    return len(rows)


def save_mentions(
    session: Session, found: dict[int, tuple[set[tuple[str, str]], str, datetime]]
) -> int:
    """Replace the mentions of posts: ``{post id: (pairs, product key, posted at)}``."""
    if not found:
        return 0
    session.execute(delete(Mention).where(Mention.post_id.in_(list(found))))
    rows = [
        Mention(post_id=pid, attribute=a, value=v, product_key=key[:200], mentioned_at=when)
        for pid, (pairs, key, when) in found.items()
        for a, v in sorted(pairs)
    ]
    session.add_all(rows)
    session.flush()
    return len(rows)


@dataclass(frozen=True)
class MentionSeries:
    """Mentions of one attribute's values per day."""

    attribute: str
    days: list[str]
    series: dict[str, list[int]]
    totals: dict[str, int]
    products: list[str]


def mention_series(
    session: Session,
    *,
    attribute: str,
    product_key: str | None = None,
    days: int = 30,
    until: datetime | None = None,
) -> MentionSeries:
    """Return mentions of ``attribute``'s values per day over the last ``days`` days.

    ``product_key`` narrows to one product (SKU) or topic; ``products`` lists the keys seen.
    """
    end = until or utcnow()
    if not 1990 <= end.year <= 2100 or not 1 <= days <= 366:
        raise InvalidInputError(
            "Mentions are counted from 1990 to 2100, over 1 to 366 days.",
            code=VoiceErrorCode.BAD_TERM,
        )
    start = (end - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    query = select(Mention.mentioned_at, Mention.value, Mention.product_key).where(
        Mention.attribute == attribute, Mention.mentioned_at >= start, Mention.mentioned_at <= end
    )
    if product_key is not None:
        query = query.where(Mention.product_key == product_key)
    labels = [(start + timedelta(days=i)).date().isoformat() for i in range(days)]
    position = {label: i for i, label in enumerate(labels)}
    series: dict[str, list[int]] = {}
    totals: Counter[str] = Counter()
    products: set[str] = set()
    for when, value, key in session.execute(query):
        products.add(key)
        at = position.get(when.date().isoformat())
        if at is None:
            continue
        series.setdefault(value, [0] * days)[at] += 1
        totals[value] += 1
    order = sorted(series, key=lambda v: (-totals[v], v))
    return MentionSeries(
        attribute=attribute,
        days=labels,
        series={v: series[v] for v in order},
        totals={v: totals[v] for v in order},
        products=sorted(products),
    )


def list_attributes(session: Session) -> list[str]:
    """Return the attributes that have a dictionary."""
    return list(
        session.scalars(select(DemandTerm.attribute).distinct().order_by(DemandTerm.attribute))
    )


__all__ = [
    "MentionSeries",
    "TermMatcher",
    "add_term",
    "delete_term",
    "fold_term",
    "list_attributes",
    "list_terms",
    "mention_series",
    "save_mentions",
    "seed_default_terms",
    "term_language",
]
