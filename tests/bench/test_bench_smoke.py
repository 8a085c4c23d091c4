"""``make bench``'s smoke mode: every benchmark runs with tiny sizes and produces numbers (no timing asserted).

The full suite (`make bench`) writes docs/benchmarks.md; this only guards that each benchmark still runs
against the current code: the emulator, the SDK baselines, curl, wrk, the gateway on SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
import shutil

import pytest

pytestmark = pytest.mark.slow


def numbers(value: object) -> list[float]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in numbers(v)]
    return [float(value)] if isinstance(value, int | float) and not isinstance(value, bool) else []


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("wrk") is None, reason="make bench installs curl, wrk")
def test_every_benchmark_produces_numbers() -> None:
    pytest.importorskip("litellm", reason="the bench extra: pip install -e '.[bench]'")
    from bench.__main__ import FULL, run

    from bench import report

    results = run(list(FULL), smoke=True, parallel=3)
    assert set(results["results"]) == set(FULL)
    for name, result in results["results"].items():
        values = numbers(result)
        assert (values and all(not math.isnan(v) for v in values if v == v)) or name == "gateway", name
    polling = results["results"]["polling"]["results"]
    assert all(r["found"] == r["jobs"] > 0 and r["requests"] > 0 for r in polling.values())
    inflight = results["results"]["inflight"]["results"]
    assert all(r["checks"] >= 80 and r["cpu_s"] > 0 and 0 < r["peak_rss_mb"] < 1000 for r in inflight.values())
    downloads = results["results"]["downloads"]["results"]
    assert all(r["bytes"] == 4 << 20 and r["mb_per_s"] > 0 for r in downloads.values())
    assert all(v > 0 for v in results["results"]["overhead"]["us_per_call"].values())
    gateway = results["results"]["gateway"]["results"]
    assert gateway["sqlite"]["rps"] > 0 and gateway["bare starlette"]["rps"] > 0 and gateway["sqlite"]["non_2xx"] == 0
    floors = report.floors_json(results)
    assert {f["name"].split(":")[0] for f in floors} == {"polling", "inflight", "downloads", "gateway"}
    assert all(set(f) == {"name", "value", "target", "met"} and isinstance(f["met"], bool) for f in floors)
    text = report.render(results)
    assert text.count("## ") == 6 and "n/a" not in text.split("## 1.")[1].split("## 5.")[0]
