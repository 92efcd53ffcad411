"""Service desk jobs: train the category classifier, route tickets, score sentiment.

Training reads agents' labels (their category corrections); routing sends a ticket to its
category's department or to triage; sentiment of customers' last messages feeds QA.

The classifier comes from :mod:`kehu.text` (the estimator contract: ``fit(texts, labels)``,
calibrated ``predict_proba``, ``classes_``); it is saved with ``save_text_model`` (JSON + npz,
no pickle) under the model folder and cached per process by file time.
"""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, InvalidInputError, KehuError, Settings
from kehu.jobs._paths import model_dir
from kehu.service import (
    Ticket,
    first_customer_messages,
    labelled_tickets,
    last_customer_messages,
    route_ticket,
    set_ticket_sentiments,
    ticket_text,
)

log = logging.getLogger(__name__)
CATEGORY_MODEL_NAME = "service-categories"
MIN_LABELS = 20
MIN_CATEGORIES = 2


class CategoryModel(Protocol):
    """What routing needs of a fitted classifier (:class:`kehu.text.TextClassifier`)."""

    classes_: Any

    def predict_proba(self, texts: Sequence[str]) -> Any:
        """Return calibrated probabilities, one row per text, one column per class."""


def category_model_path(settings: Settings) -> Path:
    """Return the folder the category classifier is saved in."""
    return model_dir(settings) / CATEGORY_MODEL_NAME


@dataclass
class TrainReport:
    """What training the category classifier did."""

    n_labels: int
    n_categories: int
    path: str
    seconds: float


def train_category_model(
    session: Session,
    *,
    path: Path,
    actor: Actor,
    min_labels: int = MIN_LABELS,
    extra: Sequence[tuple[str, str]] = (),
) -> TrainReport:
    """Fit the classifier on every ticket an agent categorised and save it at ``path``.

    ``extra`` adds (text, category code) examples that are not tickets (a seed set).

    Raises
    ------
    InvalidInputError
        With too few labels or categories to learn from, saying how to get more.
    """
    rows = [(text, code) for _, text, code in labelled_tickets(session)] + list(extra)
    codes = {code for _, code in rows}
    if len(rows) < min_labels or len(codes) < MIN_CATEGORIES:
        raise InvalidInputError(
            f"Only {len(rows)} tickets in {len(codes)} categories carry an agent's category; "
            f"training needs at least {min_labels} in {MIN_CATEGORIES} categories. Correct "
            "the category of more tickets (each correction is a label), then train again.",
            code="service.too_few_labels",
        )
    from kehu.text import TextClassifier, save_text_model  # numeric stack: load on use

    started = time.perf_counter()
    model = TextClassifier().fit([t for t, _ in rows], [c for _, c in rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    save_text_model(model, path, metrics={"n_labels": float(len(rows))})
    _CACHE.pop(str(path), None)
    seconds = time.perf_counter() - started
    record(
        session,
        actor=actor,
        action="service.model.train",
        object_type="model",
        object_id=CATEGORY_MODEL_NAME,
        summary=f"trained on {len(rows)} labels in {len(codes)} categories",
    )
    return TrainReport(
        n_labels=len(rows), n_categories=len(codes), path=str(path), seconds=round(seconds, 2)
    )


_CACHE: dict[str, tuple[float, CategoryModel]] = {}


def load_category_model(path: Path) -> CategoryModel | None:
    """Return the saved classifier (cached until the files change), or ``None`` if untrained."""
    if not path.exists():
        return None
    stamp = max((p.stat().st_mtime for p in path.rglob("*")), default=path.stat().st_mtime)
    cached = _CACHE.get(str(path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    from kehu.text import TextClassifier, TextDataError, load_text_model

    # Any TextClassifier configuration will do (one saved before the encoder became the
    # default included): the saved hyperparameters are the ones it was trained with.
    loaded = load_text_model(path)
    if not isinstance(loaded, TextClassifier):
        raise TextDataError(
            f"{path} holds a {type(loaded).__name__}, not a category classifier; "
            "run `kehu train categories`.",
            code="text.bad_model",
        )
    model = cast(CategoryModel, loaded)
    _CACHE[str(path)] = (stamp, model)
    return model


@dataclass
class RouteReport:
    """What routing did."""

    n_routed: int = 0
    n_triage: int = 0
    has_model: bool = True


def route_tickets(
    session: Session,
    tickets: Sequence[Ticket],
    *,
    model: CategoryModel | None,
    threshold: float,
    actor: Actor,
) -> RouteReport:
    """Classify tickets and place each in its category's department, or in triage.

    Without a model every ticket goes to triage (nothing is guessed).
    """
    report = RouteReport(has_model=model is not None)
    if not tickets:
        return report
    if model is None:
        for ticket in tickets:
            route_ticket(
                session,
                ticket,
                category_code=None,
                confidence=None,
                threshold=threshold,
                actor=actor,
            )
            report.n_triage += 1
        return report
    firsts = first_customer_messages(session, [t.id for t in tickets])
    texts = [ticket_text(t.subject, firsts.get(t.id, "")) for t in tickets]
    proba = np.asarray(model.predict_proba(texts), dtype=float)
    classes = list(model.classes_)
    best = proba.argmax(axis=1)
    for ticket, index, row in zip(tickets, best, proba, strict=True):
        confidence = float(row[index])
        route_ticket(
            session,
            ticket,
            category_code=str(classes[int(index)]),
            confidence=confidence,
            threshold=threshold,
            actor=actor,
        )
        if ticket.in_triage:
            report.n_triage += 1
        else:
            report.n_routed += 1
    return report


def route_new_tickets(
    session: Session, ticket_ids: Sequence[int], *, settings: Settings, actor: Actor
) -> RouteReport:
    """Route the given tickets with the saved classifier and the configured threshold.

    A saved model that cannot be read (damaged, from another version) is logged and treated as
    no model: the tickets wait in triage rather than the intake failing.
    """
    tickets = list(session.scalars(select(Ticket).where(Ticket.id.in_(list(ticket_ids)))).all())
    try:
        model = load_category_model(category_model_path(settings))
    except (KehuError, OSError, ValueError) as exc:
        log.warning("The category model cannot be read; tickets go to triage: %s", exc)
        model = None
    return route_tickets(
        session,
        tickets,
        model=model,
        threshold=settings.service_triage_threshold,
        actor=actor,
    )


def score_sentiment(
    session: Session,
    *,
    actor: Actor,
    ticket_ids: Sequence[int] | None = None,
    n_last: int = 3,
    model: CategoryModel | None = None,
) -> int:
    """Store the sentiment of each unrated ticket's last customer messages (QA perception).

    Up to ``n_last`` messages are scored one by one and averaged, the latest weighing most.

    ``model`` is a fitted sentiment classifier (column 1 of ``predict_proba`` is P(positive));
    by default the one shipped with kehu (:func:`kehu.text.sentiment.load_default_sentiment_model`).
    """
    query = select(Ticket.id).where(Ticket.rating.is_(None))
    if ticket_ids is not None:
        query = query.where(Ticket.id.in_(list(ticket_ids)))
    ids = list(session.scalars(query).all())
    lasts = last_customer_messages(session, ids, n_last=n_last)
    ids = [i for i in ids if lasts.get(i)]
    if not ids:
        return 0
    if model is None:
        from kehu.text.sentiment import load_default_sentiment_model

        model = load_default_sentiment_model()
    # Each message is scored alone; the latest weighs most (1, 1/2, 1/4...): it says how the
    # customer feels now, after the earlier complaints.
    texts = [text for i in ids for text in lasts[i]]
    positive = iter(np.asarray(model.predict_proba(texts), dtype=float)[:, 1].tolist())
    scores: dict[int, float] = {}
    for ticket_id in ids:
        weights = [0.5**k for k in range(len(lasts[ticket_id]))]
        values = [next(positive) for _ in weights]
        scores[ticket_id] = sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights)
    return set_ticket_sentiments(session, scores, actor=actor)
