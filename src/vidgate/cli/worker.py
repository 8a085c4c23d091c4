"""``vidgate worker``: run jobs from a shared store until stopped (any number of them, anywhere)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from vidgate.cli._common import err
from vidgate.client import Client
from vidgate.engine.polling import DEFAULT_POLICY, PollPolicy
from vidgate.engine.worker import Worker
from vidgate.store import open_store


def parse_rate(value: str) -> tuple[str, float]:
    name, sep, number = value.partition("=")
    try:
        rps = float(number)
    except ValueError:
        rps = -1.0
    if not sep or not name or rps <= 0:
        raise typer.BadParameter(f"--rate {value!r}: expected PROVIDER=REQUESTS_PER_SECOND, e.g. relay=5")
    return name.strip(), rps


def worker(
    store: Annotated[
        str | None,
        typer.Option(
            "--store", "--database-url", envvar="VIDGATE_DATABASE_URL", help="SQLite path or postgresql:// URL"
        ),
    ] = None,
    downloads: Annotated[Path, typer.Option(help="Where finished videos are saved")] = Path("vidgate-downloads"),
    lease: Annotated[float, typer.Option(help="Seconds a claimed job stays ours without a heartbeat")] = 60.0,
    threads: Annotated[int, typer.Option(help="Jobs worked on at once")] = 8,
    batch: Annotated[int, typer.Option(help="Jobs claimed per round")] = 16,
    idle: Annotated[float, typer.Option(help="Seconds to wait when no job is due")] = 1.0,
    until_idle: Annotated[bool, typer.Option(help="Exit when no job is due")] = False,
    time_scale: Annotated[float, typer.Option(help="Poll faster for emulators that run jobs faster")] = 1.0,
    worker_id: Annotated[str | None, typer.Option(help="Name in leases (default host:pid:random)")] = None,
    rate: Annotated[
        list[str] | None,
        typer.Option(help="PROVIDER=REQUESTS_PER_SECOND: this worker's share of a provider's rate (repeatable)"),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Gateway TOML: run each job through its route (host + key)"),
    ] = None,
) -> None:
    """Claim due jobs under a lease, poll them, download results; a killed worker's jobs are picked up later."""
    policy = DEFAULT_POLICY if time_scale == 1.0 else PollPolicy(time_scale=time_scale)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    rates = dict(parse_rate(r) for r in rate or [])
    with _client(store, downloads, policy, rates, config) as client:
        runner = Worker(client, worker_id=worker_id, lease_s=lease, threads=threads, batch=batch, idle_s=idle)
        err.print(f"vidgate worker {runner.worker_id}: lease {lease:g} s, {threads} threads")
        try:
            stats = runner.run(stop, until_idle=until_idle)
        finally:
            runner.close()
        err.print(f"stopped: {stats.claimed} claimed, {stats.steps} steps, {len(stats.finished)} finished, "
                  f"{stats.errors} errors, {stats.lost_leases} lost leases")  # fmt: skip


def _client(
    store: str | None, downloads: Path, policy: PollPolicy, rates: dict[str, float], config: Path | None
) -> Client:
    """A plain client, or with ``--config`` the gateway's routes (each job through its own host and key)."""
    if config is None:
        return Client(store=open_store(store), downloads_dir=downloads, poll_policy=policy, rate_limits=rates)
    from vidgate.server.routing import routed_client

    return routed_client(config, database_url=store, downloads_dir=downloads, poll_policy=policy, rate_limits=rates)
