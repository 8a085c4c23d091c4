"""``python -m bench [--smoke] [--only NAME ...] [--out docs/benchmarks.md] [--json results.json]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import downloads, gateway, inflight, machine, overhead, polling, report
from bench.common import ROOT

FULL: dict[str, Any] = {
    "polling": lambda: polling.run(scale=0.1, per_model=3),
    "inflight": lambda: inflight.run(jobs=10_000, checks=20_000),
    "downloads": lambda: downloads.run(size=1 << 30, rounds=3),
    "overhead": lambda: overhead.run(number=5000, repeat=5),
    "gateway": lambda: gateway.run(seconds=10),
}
SMOKE: dict[str, Any] = {
    "polling": lambda: polling.run(scale=0.002, per_model=1, only=2),
    "inflight": lambda: inflight.run(jobs=40, checks=80, concurrency=8),
    "downloads": lambda: downloads.run(size=4 << 20, rounds=1),
    "overhead": lambda: overhead.run(number=20, repeat=1),
    "gateway": lambda: gateway.run(seconds=1, connections=4),
}


def run(names: list[str], smoke: bool, parallel: int = 1) -> dict[str, Any]:
    """Run the benchmarks; ``parallel`` > 1 runs several at once (only for smoke runs: it skews timings)."""
    plan = SMOKE if smoke else FULL
    started = time.monotonic()
    out: dict[str, Any] = {
        "command": "python -m bench" + (" --smoke" if smoke else ""),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine.describe(),
        "results": {},
        "skipped": {},
    }

    def one(name: str) -> Any:
        t0 = time.monotonic()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        result = plan[name]()
        print(f"bench: {name} done in {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
        return result

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        out["results"] = dict(zip(names, pool.map(one, names), strict=True))
    out["seconds"] = time.monotonic() - started
    out["load_end"] = os.getloadavg()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that every benchmark runs")
    parser.add_argument("--only", nargs="*", choices=list(FULL), help="run only these benchmarks")
    parser.add_argument("--out", type=Path, help="write the Markdown report here (make bench: docs/benchmarks.md)")
    parser.add_argument("--json", type=Path, help="write the raw results here")
    parser.add_argument("--floors", type=Path, help="write one entry per floor here (make bench: docs/benchmarks.json)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    results = run(args.only or list(FULL), args.smoke)
    text = report.render(results)
    if args.out:
        out = args.out if args.out.is_absolute() else ROOT / args.out
        out.write_text(text, encoding="utf-8")
        print(f"bench: wrote {out}", file=sys.stderr)
    else:
        print(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    if args.floors:
        floors = args.floors if args.floors.is_absolute() else ROOT / args.floors
        floors.write_text(json.dumps(report.floors_json(results), indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
