"""Rebuild the sentiment test slices from shared/data (deterministic: every k-th row).

Usage: python tests/data/text/sentiment/make_slices.py [../shared/data]
"""

import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[4] / "shared" / "data"


def slice_tsv(split: str, every: int, limit: int, out: str) -> None:
    with (DATA / "chnsenticorp" / f"{split}.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    picked = [r for i, r in enumerate(rows) if i % every == 0][:limit]
    with (HERE / out).open("w", encoding="utf-8", newline="") as handle:
        handle.write("label\ttext\n")
        for r in picked:
            handle.write(f"{r['label']}\t{' '.join(r['text_a'].split())}\n")


def slice_amazon(cache: Path) -> None:
    """Write two disjoint slices of VADER's Amazon review sentences (MIT; see README.md)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "train", HERE.parents[3] / "scripts" / "train-sentiment-model.py"
    )
    train = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(train)  # type: ignore[union-attr]
    texts, labels = train.read_english(cache)["amazon"]
    for offset, out in ((0, "vader_amazon_fit_slice.tsv"), (3, "vader_amazon_held_slice.tsv")):
        with (HERE / out).open("w", encoding="utf-8", newline="") as handle:
            handle.write("label\ttext\n")
            for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
                if i % 6 == offset:
                    handle.write(f"{label}\t{' '.join(text.split())}\n")


if __name__ == "__main__":
    slice_tsv("train", 8, 1200, "chnsenticorp_train_slice.tsv")
    slice_tsv("dev", 3, 400, "chnsenticorp_dev_slice.tsv")
    slice_amazon(Path.home() / ".cache" / "kehu" / "english-sentiment")
