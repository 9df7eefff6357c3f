"""Time `generate_company` for each preset size and print a small table.

    .venv/bin/python benchmarks/bench_datagen.py [--repeat 3] [--sizes small,medium,large]
                                                  [--validate] [--json]

Each size is generated `--repeat` times (different seeds); the table shows the object count
and the best and median wall-clock seconds. `--validate` also times `validate_integrity`
once per size; `--json` times the canonical `to_json()` and reports its size. The build
pauses Python's cyclic garbage collector, so numbers are for the generator alone; other
processes on the machine skew them, hence best-of-N.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from datetime import UTC, datetime

from qbo_adapters.emulator.books import TRANSACTIONS
from qbo_adapters.emulator.datagen import (
    SIZES,
    generate_company,
    validate_integrity,
)

NOW = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="small,medium,large")
    parser.add_argument("--validate", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    header = f"{'size':<8} {'objects':>9} {'txns':>8} {'best s':>8} {'median s':>9}"
    if args.validate:
        header += f" {'validate s':>11}"
    if args.json:
        header += f" {'to_json s':>10} {'JSON MB':>8}"
    print(header)
    print("-" * len(header))
    for name in args.sizes.split(","):
        if name not in SIZES:
            raise SystemExit(f"unknown size {name!r}")
        seconds = []
        company = None
        for seed in range(args.repeat):
            company = None
            gc.collect()
            started = time.perf_counter()
            company = generate_company(seed=seed, size=name, realm_id=f"{seed + 1}", now=NOW)
            seconds.append(time.perf_counter() - started)
        assert company is not None
        counts = company.counts()
        txns = sum(counts[t] for t in TRANSACTIONS)
        row = (
            f"{name:<8} {company.object_count():>9,} {txns:>8,} "
            f"{min(seconds):>8.2f} {statistics.median(seconds):>9.2f}"
        )
        if args.validate:
            started = time.perf_counter()
            problems = validate_integrity(company, now=NOW)
            row += f" {time.perf_counter() - started:>11.2f}"
            if problems:
                row += f"  ({len(problems)} problems: {problems[0]})"
        if args.json:
            started = time.perf_counter()
            text = company.to_json()
            row += f" {time.perf_counter() - started:>10.2f} {len(text) / 1e6:>8.1f}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
