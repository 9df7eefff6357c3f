"""`qbo demo` end to end, and a full sync of a large company, against the time QBO's
quota allows.

    .venv/bin/python benchmarks/bench_demo.py            # medium x 2, then large x 1
    .venv/bin/python benchmarks/bench_demo.py --quick    # small x 2 only

Each case runs the real command in a subprocess (`python -m qbo_container demo --size S
--realms N --output DIR`): the emulator's HTTP door in a child process of its own, the
OAuth flow, the SQLite token store and mirror, the full sync, the writes, the
incremental sync and the verification, all over loopback HTTP. The figures come from the
run's DIR/summary.json.

The baseline, computed in the same run, is the least time Intuit's limits allow for
the requests the run made (10 a second and 500 a minute per company, `quota_seconds`):
"x quota" is elapsed / that. For the whole demo the elapsed time includes what the
quota does not govern: generating the companies, the OAuth round trips, decoding and
storing every page, the verification's second read of everything. The full-sync row is
the sync alone. Prints one table; exits 1 if a run failed or met a 429.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_demo(size: str, realms: int) -> tuple[dict[str, Any], float, int]:
    """Run `qbo demo`; its summary.json, the wall seconds, and its exit status."""
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as scratch:
        output = Path(scratch) / "demo"
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "qbo_container",
                "demo",
                "--size",
                size,
                "--realms",
                str(realms),
                "--output",
                str(output),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
            check=False,
        )
        wall = time.monotonic() - started
        summary_file = output / "summary.json"
        if not summary_file.exists():
            sys.stderr.write(done.stderr)
            return {}, wall, done.returncode or 1
        return json.loads(summary_file.read_text()), wall, done.returncode


def rows_of(label: str, summary: dict[str, Any], wall: float) -> list[list[str]]:
    rows = []
    realms = summary["realms"]
    busiest = max(realms.values(), key=lambda figures: figures["requests"])
    throttled = sum(figures["throttled"] for figures in realms.values())
    rows.append(
        [
            f"{label}: whole demo",
            f"{wall:.1f}",
            f"{summary['elapsed']:.1f}",
            str(busiest["requests"]),
            f"{busiest['quota_seconds']:.1f}",
            f"{summary['elapsed'] / busiest['quota_seconds']:.2f}",
            str(throttled),
            "passed" if summary["verified"] else "FAILED",
        ]
    )
    for realm, figures in sorted(realms.items()):
        full = figures["full_sync"]
        rows.append(
            [
                f"  full sync {realm} ({full['rows']:,} rows)",
                "",
                f"{full['seconds']:.1f}",
                str(full["requests"]),
                f"{full['quota_seconds']:.1f}",
                f"{full['seconds'] / full['quota_seconds']:.2f}",
                "",
                "",
            ]
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small x 2 only")
    args = parser.parse_args()
    cases = [("small", 2)] if args.quick else [("medium", 2), ("large", 1)]
    header = [
        "case",
        "wall s",
        "elapsed s",
        "requests",
        "quota s",
        "x quota",
        "429s",
        "verify",
    ]
    table: list[list[str]] = []
    status = 0
    load = os.getloadavg()
    for size, realms in cases:
        summary, wall, code = run_demo(size, realms)
        if not summary:
            table.append([f"{size} x {realms}: exit {code}", f"{wall:.1f}"] + [""] * 6)
            status = 1
            continue
        table += rows_of(f"{size} x {realms}", summary, wall)
        throttled = sum(figures["throttled"] for figures in summary["realms"].values())
        if code != 0 or throttled or not summary["verified"]:
            status = 1
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores")
    print(" | ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True)))
    print("-+-".join("-" * width for width in widths))
    for row in table:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(
        "quota s: the least time 10 requests a second and 500 a minute allow for those "
        "requests (the baseline); x quota = elapsed / quota s"
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
