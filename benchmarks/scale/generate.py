"""Write a seeded synthetic store in Parquet (the layout `kehu export parquet` writes).

    .venv/bin/python benchmarks/scale/generate.py --customers 1000000 --out /tmp/kehu-scale/1m

10M customers give about 42M orders and 100M order lines (about 3.5 GB of Parquet); the
customers are generated in chunks, so memory stays near one chunk (~1.5 GB at 500k).
"""

import argparse
import time

from kehu.batch._synthetic import write_synthetic_parquet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=500_000, help="customers per chunk")
    args = parser.parse_args()
    started = time.perf_counter()
    counts = write_synthetic_parquet(
        args.out, n_customers=args.customers, seed=args.seed, chunk_customers=args.chunk
    )
    print(f"{counts} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
