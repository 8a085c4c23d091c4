"""docs/benchmarks.md from one run's results: every figure beside its baseline from the same run, as a ratio."""

from __future__ import annotations

import math
from typing import Any


def _f(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def _x(value: float, baseline: float) -> str:
    """``value`` as a multiple of ``baseline``."""
    if not baseline or math.isnan(baseline) or math.isnan(value):
        return "n/a"
    r = value / baseline
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x"


def _floors(floors: dict[str, dict[str, Any]]) -> str:
    return "\n".join(
        f"- {'met' if f['met'] else '**not met**'}: {name.replace('_', ' ')} (measured {f['value']}, "
        f"target {f['target']})"
        for name, f in floors.items()
    )


def floors_json(run: dict[str, Any]) -> list[dict[str, Any]]:
    """docs/benchmarks.json: one entry per floor, ``{"name", "value", "target", "met"}``."""
    return [
        {"name": f"{bench}: {name.replace('_', ' ')}", "value": f["value"], "target": f["target"], "met": f["met"]}
        for bench, result in run["results"].items()
        for name, f in result.get("floors", {}).items()
    ]


def machine_section(m: dict[str, Any], load_end: tuple[float, ...]) -> str:
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    tools = ", ".join(f"{k}: {v}" for k, v in m["tools"].items())
    load = " / ".join(f"{x:.2f}" for x in m["load_average"])
    return "\n".join([
        "| | |",
        "|---|---|",
        f"| CPU | {m['cpu']} |",
        f"| Cores | {m['cores']} |",
        f"| Memory | {m['memory_gib']} GiB |",
        f"| OS | {m['os']} |",
        f"| Python | {m['python']} |",
        f"| Packages | {packages} |",
        f"| Tools | {tools} |",
        f"| Load average (1/5/15 min) | at start {load}; at end {' / '.join(f'{x:.2f}' for x in load_end)} |",
    ])  # fmt: skip


def polling_section(r: dict[str, Any]) -> str:
    res = r["results"]
    one = res["fixed 1 s"]
    rows = [
        "| Strategy | Status requests per job | vs fixed 1 s | Lag p50 (s) | Lag p95 (s) | Lag p95 vs fixed 1 s "
        "| Lag p95 / job time |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, v in res.items():
        rows.append(
            f"| {name} | {_f(v['requests_per_job'])} | {_x(v['requests'], one['requests'])} | {_f(v['lag_p50_s'])} "
            f"| {_f(v['lag_p95_s'])} | {_x(v['lag_p95_s'], one['lag_p95_s'])} | {_f(100 * v['lag_fraction_p95'])}% |"
        )
    hooks = res["vidgate + webhooks"]
    models = ", ".join(f"{m['model']} ({m['typical_latency_s']:g} s)" for m in r["models"])
    return "\n".join([
        *rows,
        "",
        f"{len(r['models'])} models x {r['per_model']} jobs = {one['jobs']} jobs per strategy: {models}. Each job "
        f"lasted its model's typical latency times a factor drawn uniformly from {1 - r['spread']:g}-"
        f"{1 + r['spread']:g}, time-scaled by {r['scale']:g} in the emulator; lags are given in the provider's "
        f"seconds (measured / {r['scale']:g}). With webhooks the lag is dominated by the callback's real delivery: "
        f"p50 {_f(1000 * hooks['lag_p50_real_s'], 0)} ms, p95 {_f(1000 * hooks['lag_p95_real_s'], 0)} ms of real "
        "time (it does not scale).",
        "",
        "Floors:",
        _floors(r["floors"]),
    ])  # fmt: skip


def inflight_section(r: dict[str, Any]) -> str:
    res = r["results"]
    oa, ll = res["openai"], res["litellm"]
    rows = [
        "| Contender | Peak RSS (MB) | vs AsyncOpenAI | vs LiteLLM | CPU s per 1,000 checks | Checks/s "
        "| Checks per CPU s | vs AsyncOpenAI | vs LiteLLM |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = {"vidgate": "`vidgate worker` (SQLite store)", "openai": "AsyncOpenAI().videos.retrieve loops",
             "litellm": "litellm.avideo_status loops"}  # fmt: skip
    for who, v in res.items():
        per_cpu = v["checks_per_cpu_s"]
        rows.append(
            f"| {names.get(who, who)} | {_f(v['peak_rss_mb'])} | {_x(v['peak_rss_mb'], oa['peak_rss_mb'])} "
            f"| {_x(v['peak_rss_mb'], ll['peak_rss_mb'])} | {_f(v['cpu_s'] / v['checks'] * 1000, 2)} "
            f"| {_f(v['checks_per_s'], 0)} | {_f(v['checks_per_cpu_s'], 0)} "
            f"| {_x(per_cpu, oa['checks_per_cpu_s'])} | {_x(per_cpu, ll['checks_per_cpu_s'])} |"
        )
    return "\n".join([
        *rows,
        "",
        f"{r['jobs']:,} jobs in flight, {r['checks']:,} status checks per contender, {r['concurrency']} at a time, "
        "each contender in its own process; the emulator in another. vidgate is the `vidgate worker` command on a "
        "SQLite job store (claims, saves and releases included), its CPU read from /proc, its checks counted by "
        "the emulator. Checks/s is capped by the emulator (one Python process on the other core); checks per CPU "
        "second is the client's own cost.",
        "",
        "Floors:",
        _floors(r["floors"]),
    ])  # fmt: skip


def downloads_section(r: dict[str, Any]) -> str:
    res = r["results"]
    curl = res["curl"]
    names = {"vidgate": "`vidgate jobs download`", "vidgate-sync": "vidgate Client.download (blocking, scripts)",
             "openai": "openai download_content().write_to_file", "litellm": "litellm.video_content",
             "curl": "curl"}  # fmt: skip
    rows = [
        "| Contender | MB/s | vs curl | Seconds | RSS growth (MB) | vs curl | Peak RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for who, v in res.items():
        rows.append(
            f"| {names.get(who, who)} | {_f(v['mb_per_s'], 0)} | {_x(v['mb_per_s'], curl['mb_per_s'])} "
            f"| {_f(v['seconds'], 2)} | {_f(v['rss_growth_mb'])} | {_x(v['rss_growth_mb'], curl['rss_growth_mb'])} "
            f"| {_f(v['peak_rss_mb'])} |"
        )
    return "\n".join([
        *rows,
        "",
        f"One {r['size'] / (1 << 30):g} GiB video (an MP4 padded with a `free` box), best of {r['rounds']} rounds, "
        "each contender in its own process writing to the same disk; vidgate also computes the sha256 of the "
        "file and probes it. curl's RSS growth is its whole peak.",
        "",
        "Floors:",
        _floors(r["floors"]),
    ])  # fmt: skip


def overhead_section(r: dict[str, Any]) -> str:
    res = r["us_per_call"]
    base = res["openai SDK videos.create"]
    rows = ["| Client | µs per call | vs openai SDK |", "|---|---:|---:|"]
    rows += [f"| {name} | {_f(v)} | {_x(v, base)} |" for name, v in res.items()]
    return "\n".join([*rows, "", f"Best of {r['repeat']} runs of {r['number']:,} calls each."])


def gateway_section(r: dict[str, Any]) -> str:
    res = r["results"]
    bare = res["bare starlette"]
    rows = ["| Server | Requests/s | vs bare Starlette | Overhead ratio | p50 (ms) | p99 (ms) |",
            "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, v in res.items():
        ratio = _f(v["overhead_ratio"], 2) if "overhead_ratio" in v else "1.00"
        rows.append(
            f"| {name} | {_f(v['rps'], 0)} | {_x(v['rps'], bare['rps'])} | {ratio} | {_f(v['p50_ms'])} "
            f"| {_f(v['p99_ms'])} |"
        )
    note = "" if r["postgresql"] else " No PostgreSQL binaries were found, so PostgreSQL was not measured."
    return "\n".join([
        *rows,
        "",
        f"`GET /v1/videos/{{id}}` of one finished video with an API key; wrk, 1 thread, {r['connections']} "
        f"connections, {r['seconds']:g} s, in its own process on loopback.{note}",
        "",
        "Floors:",
        _floors(r.get("floors", {})),
    ])  # fmt: skip


SECTIONS = {
    "polling": ("1. Polling efficiency", polling_section),
    "inflight": ("2. Many jobs in flight", inflight_section),
    "downloads": ("3. Downloads", downloads_section),
    "overhead": ("4. Client overhead", overhead_section),
    "gateway": ("5. Gateway", gateway_section),
}


def render(run: dict[str, Any]) -> str:
    parts = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (`{run['command']}`) on {run['date']}, in {run['seconds']:.0f} s. Every figure "
        "is compared with its baseline measured in the same run, against vidgate's emulator on loopback. Code: "
        "`bench/` (one module per benchmark); `make test` runs each with tiny sizes "
        "(`tests/bench/test_bench_smoke.py`).",
        "",
        "## Machine",
        "",
        machine_section(run["machine"], run["load_end"]),
    ]
    for key, (title, section) in SECTIONS.items():
        if key in run["results"]:
            parts += ["", f"## {title}", "", section(run["results"][key])]
        elif key in run.get("skipped", {}):
            parts += ["", f"## {title}", "", f"Not measured: {run['skipped'][key]}"]
    return "\n".join(parts) + "\n"
