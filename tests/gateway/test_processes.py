"""Real processes: ``vidgate serve`` alone on SQLite, and two gateway replicas + two ``vidgate worker``s sharing
one real PostgreSQL. Their logs are searched for the API keys used: none may appear."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.conftest import FAST
from tests.gateway.helpers import EMU_KEY_ENV, bearer, wait_for
from tests.pg import PgServer, fresh_pg_url
from vidgate.emulator import EmulatorServer
from vidgate.server.tenants import create_key
from vidgate.store import open_store
from vidgate.store.gateway import gateway_data

VIDGATE = str(Path(sys.executable).parent / "vidgate")
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> str:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.log.read_text(errors="replace")


class Procs:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.env = env
        self.all: list[Proc] = []
        self._files: list[IO[bytes]] = []

    def start(self, name: str, *args: str, port: int | None = None) -> Proc:
        log = self.tmp / f"{name}.log"
        fh = log.open("wb")
        self._files.append(fh)
        popen = subprocess.Popen([VIDGATE, *args], stdout=fh, stderr=subprocess.STDOUT, env=self.env, cwd=self.tmp)
        proc = Proc(name, popen, log, port)
        self.all.append(proc)
        return proc

    def gateway(self, name: str, *args: str) -> Proc:
        port = free_port()
        return self.start(name, "serve", "--port", str(port), *args, port=port)

    def wait_healthy(self, proc: Proc) -> None:
        def up() -> bool:
            if proc.popen.poll() is not None:
                raise AssertionError(f"{proc.name} exited {proc.popen.returncode}:\n{proc.log.read_text()[-3000:]}")
            try:
                return httpx.get(proc.url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=30, interval=0.05)

    def stop_all(self) -> dict[str, str]:
        logs = {p.name: p.stop() for p in self.all}
        for fh in self._files:
            fh.close()
        return logs


def write_config(tmp: Path, emulator: EmulatorServer, **server: object) -> Path:
    lines = ["[server]", f'downloads_dir = "{tmp / "files"}"', f"time_scale = {FAST}", "sse_interval_s = 0.05"]
    lines += [f"{k} = {v!r}".replace("'", '"') for k, v in server.items()]
    lines += ["", "[[routes]]", 'name = "relay"', 'provider = "relay"', f'base_url = "{emulator.url}"',
              f'api_key_env = "{EMU_KEY_ENV}"']  # fmt: skip
    path = tmp / "gateway.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def procs(tmp_path: Path, emulator: EmulatorServer) -> Iterator[Procs]:
    env = {**os.environ, EMU_KEY_ENV: emulator.api_key, "VIDGATE_HOME": str(tmp_path),
           "VIDGATE_GATEWAY_SECRET": "shared-by-every-replica"}  # fmt: skip
    env.pop("VIDGATE_DATABASE_URL", None)
    running = Procs(tmp_path, env)
    yield running
    running.stop_all()


def keys_in(text: str, tokens: list[str]) -> list[str]:
    found = [t for t in tokens if t in text]
    found += [t.split("_", 2)[2] for t in tokens if t.split("_", 2)[2] in text]  # the secret part alone
    return found


def create(url: str, key: str, prompt: str) -> str:
    r = httpx.post(url + "/v1/videos", json={"prompt": prompt, "model": "sora-2", "seconds": "10"},
                   headers=bearer(key), timeout=30)  # fmt: skip
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def status(url: str, key: str, video_id: str) -> str:
    return str(httpx.get(f"{url}/v1/videos/{video_id}", headers=bearer(key), timeout=10).json()["status"])


def test_one_process_on_sqlite_and_logs_hold_no_keys(procs: Procs, tmp_path: Path, emulator: EmulatorServer) -> None:
    db = tmp_path / "one.db"
    config = write_config(tmp_path, emulator)
    made = subprocess.run([VIDGATE, "keys", "create", "--name", "app", "--database-url", str(db), "--json"],
                          env=procs.env, capture_output=True, text=True, check=True)  # fmt: skip
    key = re.search(r'"key": "(vg_[^"]+)"', made.stdout)
    assert key is not None
    token = key.group(1)
    gw = procs.gateway("one", "--config", str(config), "--database-url", str(db), "--log-level", "debug")
    procs.wait_healthy(gw)
    vid = create(gw.url, token, "a single process does everything")
    wait_for(lambda: status(gw.url, token, vid) == "completed", timeout=30)
    video = httpx.get(f"{gw.url}/v1/videos/{vid}/content", headers=bearer(token), timeout=10)
    assert video.content[4:8] == b"ftyp"
    wrong = token[:-4] + "AAAA"
    assert httpx.get(f"{gw.url}/v1/videos", headers=bearer(wrong)).status_code == 401
    assert httpx.get(f"{gw.url}/v1/videos?api_key={token}", headers=bearer(token)).status_code == 200
    httpx.post(f"{gw.url}/v1/videos", headers=bearer(token), json={"prompt": token, "seconds": "7"})
    logs = procs.stop_all()
    text = "\n".join(logs.values()) + made.stderr
    assert "GET /v1/videos" in text  # the access log is there...
    assert keys_in(text, [token, wrong]) == []  # ...and no key is in it
    assert emulator.api_key not in text


def test_replicas_and_workers_share_postgres(
    procs: Procs, tmp_path: Path, emulator: EmulatorServer, pg_server: PgServer
) -> None:
    url = fresh_pg_url(pg_server)
    with open_store(url) as store:  # migrations applied once, here; the key lives in the same database
        token = create_key(gateway_data(store), "replicas").token
    config = write_config(tmp_path, emulator)
    gateways = [procs.gateway(f"gateway{i}", "--config", str(config), "--database-url", url, "--no-worker")
                for i in (1, 2)]  # fmt: skip
    workers = [procs.start(f"worker{i}", "worker", "--config", str(config), "--database-url", url, "--idle", "0.02",
                           "--batch", "1", "--concurrency", "2") for i in (1, 2)]  # fmt: skip
    for gw in gateways:
        procs.wait_healthy(gw)
    ids = [create(gateways[i % 2].url, token, f"replica job {i}") for i in range(6)]
    for i, vid in enumerate(ids):  # every job is read through the *other* gateway
        other = gateways[(i + 1) % 2].url
        wait_for(lambda v=vid, o=other: status(o, token, v) == "completed", timeout=45)
        assert httpx.get(f"{other}/v1/videos/{vid}/content", headers=bearer(token)).content[4:8] == b"ftyp"
    listed = httpx.get(gateways[1].url + "/v1/videos", params={"limit": 10}, headers=bearer(token)).json()
    assert sorted(v["id"] for v in listed["data"]) == sorted(ids)
    assert emulator.state.counts["POST /v2/videos/generations"] == 6  # no job was sent twice
    logs = procs.stop_all()
    stats = {}
    for w in workers:
        m = re.search(r"stopped: (\d+) claimed, (\d+) steps, (\d+) finished", logs[w.name])
        assert m is not None, logs[w.name][-2000:]
        stats[w.name] = tuple(int(x) for x in m.groups())
    assert all(s[0] > 0 for s in stats.values()), stats  # both workers took jobs
    assert sum(s[2] for s in stats.values()) == 6, stats  # and between them finished every one, once
    assert keys_in("\n".join(logs.values()), [token]) == []


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _unauthenticated_upload(port: int, size: int, chunk: bytes) -> bytes:
    """POST a chunked body of ``size`` bytes with no API key; returns what the server answered (read meanwhile)."""
    answer = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:

        def read() -> None:
            with contextlib.suppress(OSError):
                while data := sock.recv(65536):
                    answer.extend(data)

        reader = threading.Thread(target=read)
        reader.start()
        head = "POST /v1/videos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        head += "Transfer-Encoding: chunked\r\n\r\n"
        with contextlib.suppress(OSError):  # the server answers 401 and closes: the rest cannot be sent
            sock.sendall(head.encode())
            frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            for _ in range(size // len(chunk)):
                sock.sendall(frame)
            sock.sendall(b"0\r\n\r\n")
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        reader.join(30)
    return bytes(answer)


def test_unauthenticated_uploads_are_never_buffered(procs: Procs, tmp_path: Path, emulator: EmulatorServer) -> None:
    """20 connections each streaming a 24 MB chunked body without a key: each gets its 401 before the body is
    read, so the gateway's memory does not grow with what they send (the issue measured 249 -> 711 MB before)."""
    gw = procs.gateway("bodies", "--config", str(write_config(tmp_path, emulator)), "--database-url",
                       str(tmp_path / "b.db"))  # fmt: skip
    procs.wait_healthy(gw)
    for _ in range(20):  # warm: the first requests import and allocate what every request needs
        httpx.post(gw.url + "/v1/videos", json={"prompt": "x"}, timeout=10)
    before = _rss_kib(gw.popen.pid)
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_kib(gw.popen.pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: _unauthenticated_upload(gw.port or 0, 24 << 20, b"a" * 65536), range(20)))
    done.set()
    sampler.join()
    growth_mb = (peak - before) / 1024
    print(f"\ngateway RSS {before / 1024:.0f} MB -> peak {peak / 1024:.0f} MB under 20 x 24 MB unauthenticated "
          f"chunked uploads (+{growth_mb:.1f} MB)")  # fmt: skip
    assert all(a.startswith(b"HTTP/1.1 401") for a in answers), [a[:60] for a in answers]
    assert growth_mb < 25, f"the gateway grew {growth_mb:.0f} MB: bodies were buffered"
    assert httpx.get(gw.url + "/healthz", timeout=5).status_code == 200
    assert sum(emulator.state.counts.values()) == 0
