"""Import N real reviews as posts and time the import and the voice scoring run (SQLite).

    python benchmarks/voice/score_posts.py [N]      # default 5000; reads ../shared/data

The reviews of waimai_10k are posted by N distinct authors over the last 48 hours (so all of
them are in the spread-risk window: sentiment, mentions, clustering of the negative ones and
risk are all computed). Prints rows/s of the import and posts/s of the scoring run. Timings on
a shared machine are noisy; compare runs made on the same machine.
"""

import csv
import io
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import sessionmaker

import kehu.models  # noqa: F401 - every table registered
from kehu.core import Actor, utcnow
from kehu.ingest import run_import
from kehu.jobs.voice import run_voice_scoring
from kehu.store import make_engine, upgrade_to_head
from kehu.text.sentiment import load_default_sentiment_model

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "waimai_10k" / "waimai_10k.csv"


def main(n: int) -> None:
    """Run the benchmark on ``n`` posts."""
    with DATA.open(encoding="utf-8") as f:
        reviews = [r["review"] for r in csv.DictReader(f)]
    now = utcnow()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "platform",
            "external_id",
            "author_handle",
            "author_followers",
            "reposts",
            "comments",
            "posted_at",
            "text",
        ]
    )
    for i in range(n):
        writer.writerow(
            [
                "weibo",
                f"B{i}",
                f"user{i}",
                100 + i % 5000,
                i % 30,
                i % 7,
                (now - timedelta(minutes=(i * 577) % (48 * 60))).isoformat(),
                reviews[i % len(reviews)],
            ]
        )
    data = buffer.getvalue().encode()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        upgrade_to_head(url)
        engine = make_engine(url)
        actor = Actor(kind="system", label="benchmark")
        started = time.perf_counter()
        model = load_default_sentiment_model()
        loaded = time.perf_counter() - started
        with sessionmaker(bind=engine)() as session:
            started = time.perf_counter()
            run = run_import(session, kind="posts", data=data, filename="b.csv", actor=actor)
            n_loaded = run.n_loaded
            session.commit()
            imported = time.perf_counter() - started
            started = time.perf_counter()
            result = run_voice_scoring(session, actor=actor, model=model)
            session.commit()
            scored = time.perf_counter() - started
        engine.dispose()
    print(f"model load: {loaded:.1f} s")
    print(f"import: {n_loaded} posts in {imported:.1f} s = {n_loaded / imported:,.0f}/s")
    print(
        f"scoring: {result.n_scored} posts, {result.n_risk_scored} risks, {result.n_alerts} "
        f"alerts in {scored:.1f} s = {result.n_scored / scored:,.0f} posts/s"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
