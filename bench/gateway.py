"""Benchmark 5 — the gateway: ``GET /v1/videos/{id}`` requests per second on SQLite and on PostgreSQL.

``vidgate serve`` runs in its own process (one uvicorn worker, its embedded job worker idle) on a SQLite
file, then on a throwaway PostgreSQL (started from the machine's binaries, unix socket). One finished
video is read over and over with an API key, by ``wrk`` (Debian's) in another process, ``connections``
connections for ``seconds`` seconds. The baseline is a bare Starlette app on the same uvicorn answering
the same JSON body from memory: the overhead ratio is its rate divided by the gateway's.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.common import CHILD_ENV, ROOT, Emulator, emulator

VIDGATE = [sys.executable, "-m", "vidgate"]  # this checkout's vidgate (CHILD_ENV puts src/ first)
KEY_ENV = "BENCH_RELAY_KEY"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], cwd: Path, health: str) -> Iterator[subprocess.Popen[bytes]]:
    log = (cwd / f"{Path(args[0]).name}-{time.monotonic_ns()}.log").open("wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    try:
        end = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{args[:3]} exited {proc.returncode}: {Path(log.name).read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(health, timeout=1).status_code == 200:
                    break
            if time.monotonic() > end:
                raise RuntimeError(f"{args[:3]} did not become healthy: {Path(log.name).read_text()[-3000:]}")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def wrk(url: str, headers: dict[str, str], seconds: float, connections: int) -> dict[str, float]:
    """Requests per second and latency percentiles from Debian's wrk (one thread: the machine has two cores)."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    return {"rps": float(rate.group(1)), "non_2xx": float(errors.group(1)) if errors else 0.0,
            "p50_ms": _ms(lat.get("50", "nan")), "p99_ms": _ms(lat.get("99", "nan"))}  # fmt: skip


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    if m is None:
        return float("nan")
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


def _config(tmp: Path, emu: Emulator) -> Path:
    path = tmp / "gateway.toml"
    lines = [
        "[server]",
        f'downloads_dir = "{tmp / "files"}"',
        "time_scale = 0.001",
        "",
        "[[routes]]",
        'name = "relay"',
        'provider = "relay"',
        f'base_url = "{emu.url}"',
        f'api_key_env = "{KEY_ENV}"',
        "",
    ]
    path.write_text("\n".join(lines))
    return path


def _key(database_url: str) -> str:
    from vidgate.server.tenants import create_key
    from vidgate.store import open_store
    from vidgate.store.gateway import gateway_data

    with open_store(database_url) as store:  # applies the migrations, then the key lives in the same database
        return create_key(gateway_data(store), "bench").token


def _finished_video(url: str, key: str) -> tuple[str, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {key}"}
    made = httpx.post(url + "/v1/videos", json={"prompt": "a lighthouse at dawn", "model": "sora-2", "seconds": "10"},
                      headers=headers, timeout=30)  # fmt: skip
    made.raise_for_status()
    video_id = made.json()["id"]
    end = time.monotonic() + 60
    while (body := httpx.get(f"{url}/v1/videos/{video_id}", headers=headers, timeout=10).json())["status"] not in (
        "completed",
        "failed",
    ):
        if time.monotonic() > end:
            raise RuntimeError(f"the gateway's job did not finish: {body}")
        time.sleep(0.05)
    return video_id, body


@contextlib.contextmanager
def _postgres(tmp: Path) -> Iterator[str | None]:
    """A throwaway PostgreSQL URL (tests/pg.py's TempPostgres), or None without PostgreSQL binaries."""
    if os.environ.get("VIDGATE_TEST_DATABASE_URL"):
        yield os.environ["VIDGATE_TEST_DATABASE_URL"]
        return
    sys.path.insert(0, str(ROOT))
    from tests.pg import TempPostgres, find_pg_bin

    bindir = find_pg_bin()
    if bindir is None:
        yield None
        return
    server = TempPostgres.start(bindir)
    try:
        yield server.url()
    finally:
        server.stop()


def run(seconds: float = 10, connections: int = 32) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: `apt-get install -y wrk` (make bench does)")
    results: dict[str, Any] = {}
    bodies: dict[str, Any] = {}
    with emulator(time_scale=0.001) as emu, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config = _config(tmp, emu)
        env = {**CHILD_ENV, KEY_ENV: emu.api_key, "VIDGATE_HOME": str(tmp), "VIDGATE_GATEWAY_SECRET": "bench"}
        env.pop("VIDGATE_DATABASE_URL", None)
        with _postgres(tmp) as pg_url:
            backends = {"sqlite": str(tmp / "gateway.db"), **({"postgresql": pg_url} if pg_url else {})}
            for name, database_url in backends.items():
                key = _key(database_url)
                port = free_port()
                args = [*VIDGATE, "serve", "--config", str(config), "--database-url", database_url, "--port", str(port),
                        "--log-level", "warning"]  # fmt: skip
                url = f"http://127.0.0.1:{port}"
                with process(args, env, tmp, url + "/healthz"):
                    video_id, body = _finished_video(url, key)
                    bodies[name] = body
                    results[name] = wrk(f"{url}/v1/videos/{video_id}", {"Authorization": f"Bearer {key}"},
                                        seconds, connections)  # fmt: skip
        body_file = tmp / "body.json"
        body_file.write_text(json.dumps(bodies["sqlite"]))
        port = free_port()
        bare = [sys.executable, "-m", "bench.bare_server", str(port), str(body_file)]
        with process(bare, CHILD_ENV, tmp, f"http://127.0.0.1:{port}/healthz"):
            results["bare starlette"] = wrk(f"http://127.0.0.1:{port}/v1/videos/{bodies['sqlite']['id']}",
                                            {"Authorization": "Bearer x"}, seconds, connections)  # fmt: skip
    bare_rps = results["bare starlette"]["rps"]
    floors = {}
    for name in backends:
        results[name]["overhead_ratio"] = bare_rps / results[name]["rps"]
        share = results[name]["rps"] / bare_rps
        floors[f"{name}_at_least_a_third_of_bare_starlette"] = {
            "value": round(share, 2),
            "target": ">= 0.33x bare Starlette's requests/s",
            "met": share >= 1 / 3,
        }
    return {"seconds": seconds, "connections": connections, "results": results,
            "postgresql": "postgresql" in backends, "floors": floors}  # fmt: skip
