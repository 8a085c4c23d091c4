"""What every benchmark shares: processes (the emulator, measured children), resource readings, statistics."""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# LiteLLM fetches a model price list from the internet at import unless told not to; benchmarks stay offline.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# Children import this checkout's vidgate (src/) ahead of any installed copy, and bench/ from ROOT.
CHILD_ENV = {
    **os.environ,
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
}


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (every thread)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of another process so far (every thread), from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat)


def peak_rss_mb(pid: int | str = "self") -> float:
    """The highest resident set size the process has had (``VmHWM``). Not ``getrusage``: on Linux a child's
    ``ru_maxrss`` starts from its parent's size at fork and survives ``execve``."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_watched(args: list[str]) -> float:
    """Run ``args`` to completion, sampling its peak RSS every 5 ms; that peak, in MB (e.g. curl)."""
    proc = subprocess.Popen(args)
    peak = 0.0
    while proc.poll() is None:
        with contextlib.suppress(OSError, ValueError):
            peak = max(peak, peak_rss_mb(proc.pid))
        time.sleep(0.005)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, args)
    return peak


def rss_mb() -> float:
    """The resident set size now."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), nearest-rank; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline else math.inf


def emit(result: dict[str, Any]) -> None:
    """A child's answer to its parent: one JSON line on stdout, last."""
    sys.stdout.write("\nBENCH-RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


def run_child(module: str, params: dict[str, Any], timeout: float = 900) -> dict[str, Any]:
    """Run ``python -m bench.<module> '<params json>'`` in its own process and return what it emitted."""
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", json.dumps(params)],
        capture_output=True, text=True, timeout=timeout, env=CHILD_ENV, cwd=ROOT,
    )  # fmt: skip
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("BENCH-RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCH-RESULT "))
            return result
    tail = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    raise RuntimeError(f"bench.{module} {params} gave no result (exit {proc.returncode}):\n{tail}")


@dataclass
class Emulator:
    """The emulator in a process of its own (so its CPU is not the measured process's)."""

    url: str
    api_key: str
    proc: subprocess.Popen[str]

    def timings(self) -> dict[str, dict[str, float]]:
        """task id -> {"created", "done"}: when the task was created and became final, on CLOCK_MONOTONIC
        (``time.monotonic()``, the same clock in every process on this machine)."""
        import httpx

        answer: dict[str, dict[str, float]] = httpx.get(self.url + "/_bench/done", timeout=30).json()
        return answer

    def counts(self) -> dict[str, int]:
        import httpx

        answer: dict[str, int] = httpx.get(self.url + "/_emulator/stats", timeout=30).json()["counts"]
        return answer


@contextlib.contextmanager
def emulator(**config: Any) -> Iterator[Emulator]:
    """``with emulator(time_scale=0.05, latency_spread=0.25) as emu:`` -- see bench/emulator_proc.py."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.emulator_proc", json.dumps(config)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=CHILD_ENV, cwd=ROOT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the emulator process did not start")
        info = json.loads(line)
        yield Emulator(info["url"], info["api_key"], proc)
    finally:
        if proc.stdin:
            proc.stdin.close()  # the emulator exits when its stdin closes
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until(predicate: Any, timeout: float, interval: float = 0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
