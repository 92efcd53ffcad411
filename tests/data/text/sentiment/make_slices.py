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


if __name__ == "__main__":
    slice_tsv("train", 8, 1200, "chnsenticorp_train_slice.tsv")
    slice_tsv("dev", 3, 400, "chnsenticorp_dev_slice.tsv")
