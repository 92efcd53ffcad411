"""Time the posts import (set-wise) against a plain insert of the same rows, SQLite or PostgreSQL.

    python benchmarks/voice/import_posts.py [N] [--url URL]   # default 10000 posts, SQLite

N real waimai_10k reviews become posts by N/4 authors (a quarter of them known customers
through their Weibo uid, so author matching does real work), every fifth one a comment on an
earlier post, every fiftieth a repeat of its author's previous text (spam). Three imports are
timed on an empty store: the file (all created), the same file again (all unchanged), and the
file with every tenth row's counts changed (updated). The anchor, in the same run, is a bare
``executemany`` (``COPY`` on PostgreSQL) of the same rows into the table (no validation,
matching, parents or spam marks): what a load cannot beat. Before this change the import went
row by row (a savepoint and a handful of queries per row): ~163 posts/s on this machine.
Timings on a shared machine are noisy; compare the ratios.
"""

import argparse
import csv
import io
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

import kehu.models  # noqa: F401 - every table registered
from kehu.core import Actor, utcnow
from kehu.customers import Customer, Identity
from kehu.ingest import run_import
from kehu.store import make_engine, upgrade_to_head
from kehu.store.bulk import insert_rows
from kehu.voice import Post

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "waimai_10k" / "waimai_10k.csv"
HEADER = [
    "platform",
    "external_id",
    "parent_id",
    "author_handle",
    "author_id",
    "author_followers",
    "reposts",
    "comments",
    "posted_at",
    "text",
]


def rows(n: int, now: datetime, bump: bool = False) -> list[list[object]]:
    """Return ``n`` post rows of real reviews (``bump``: every tenth row's reposts changed)."""
    with DATA.open(encoding="utf-8") as f:
        reviews = [r["review"] for r in csv.DictReader(f)]
    out: list[list[object]] = []
    for i in range(n):
        author = i % max(n // 4, 1)
        text = reviews[i % len(reviews)]
        out.append(
            [
                "weibo",
                f"B{i}",
                f"B{i - 3}" if i % 5 == 4 else "",
                f"user{author}",
                str(9_000_000 + author),
                100 + i % 5000,
                i % 30 + (1 if bump and i % 10 == 0 else 0),
                i % 7,
                (now - timedelta(minutes=(i * 577) % (48 * 60))).isoformat(),
                text,
            ]
        )
    for i in range(49, n, 50):  # spam: the previous row's author says it again a minute later
        earlier = out[i - 1]
        out[i][3], out[i][4], out[i][9] = earlier[3], earlier[4], earlier[9]
        out[i][8] = (datetime.fromisoformat(str(earlier[8])) + timedelta(minutes=1)).isoformat()
    return out


def as_csv(data: list[list[object]]) -> bytes:
    """Return the rows as a CSV file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(data)
    return buffer.getvalue().encode()


def seed_customers(session: Session, n_authors: int) -> None:
    """Make every fourth author a known customer with a Weibo uid."""
    for author in range(0, n_authors, 4):
        customer = Customer(name=f"Customer {author}")
        session.add(customer)
        session.flush()
        session.add(
            Identity(customer_id=customer.id, kind="weibo_uid", value=str(9_000_000 + author))
        )
    session.flush()


def bare_insert(session: Session, data: list[list[object]]) -> float:
    """Return the seconds the driver's executemany (COPY on PostgreSQL) of the rows takes."""
    now = utcnow()
    columns = [
        "platform",
        "external_id",
        "kind",
        "author_handle",
        "author_id",
        "author_followers",
        "reposts",
        "comments",
        "posted_at",
        "text",
        "url",
        "text_hash",
        "language",
        "is_truncated",
        "source",
        "created_at",
        "updated_at",
    ]
    values = [
        ["anchor", r[1], "post", r[3], r[4], r[5], r[6], r[7], now, r[9], "", "", "zh", False, ""]
        + [now] * 2  # created_at, updated_at
        for r in data
    ]
    started = time.perf_counter()
    insert_rows(session, Post.__table__, columns, values)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    session.execute(delete(Post).where(Post.platform == "anchor"))
    session.commit()
    return seconds


def main() -> None:
    """Run the benchmark and print posts/s and the ratio to the bare insert."""
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=10_000)
    parser.add_argument("--url", help="an empty database (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{folder}/bench.db"
        upgrade_to_head(url)
        engine = make_engine(url)
        actor = Actor(kind="system", label="benchmark")
        now = utcnow().replace(microsecond=0)
        first, bumped = as_csv(rows(args.n, now)), as_csv(rows(args.n, now, bump=True))
        again = first
        with sessionmaker(bind=engine)() as session:
            seed_customers(session, max(args.n // 4, 1))
            session.commit()
            anchor = bare_insert(session, rows(args.n, now))
            print(f"anchor, bare INSERT: {args.n / anchor:,.0f} rows/s ({anchor:.2f} s)")
            for label, data in (("new", first), ("unchanged", again), ("10% updated", bumped)):
                started, cpu = time.perf_counter(), time.process_time()
                run = run_import(session, kind="posts", data=data, filename="b.csv", actor=actor)
                session.commit()
                seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
                print(
                    f"import {label}: {run.n_loaded} posts in {seconds:.2f} s = "
                    f"{run.n_loaded / seconds:,.0f}/s, {run.n_loaded / cpu:,.0f} per CPU second "
                    f"({seconds / anchor:.1f}x the bare insert); "
                    f"counts {run.counts}"
                )
        engine.dispose()


if __name__ == "__main__":
    main()
