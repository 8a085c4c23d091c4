"""``vidgate worker``: run jobs from a shared store until stopped (any number of them, anywhere)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer

from vidgate.cli._common import err, reported
from vidgate.client import AsyncClient
from vidgate.engine.polling import DEFAULT_POLICY, PollPolicy
from vidgate.engine.worker import Worker, WorkerStats
from vidgate.store import open_store

DEFAULT_DOWNLOADS = Path("vidgate-downloads")


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
    downloads: Annotated[Path, typer.Option(help="Where finished videos are saved")] = DEFAULT_DOWNLOADS,
    lease: Annotated[float, typer.Option(help="Seconds a claimed job stays ours without a heartbeat")] = 60.0,
    concurrency: Annotated[int, typer.Option(help="Jobs worked on at once (one event loop)")] = 64,
    batch: Annotated[int | None, typer.Option(help="Jobs claimed per round (default: concurrency)")] = None,
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
    """Claim due jobs under a lease, poll them, download results; a killed worker's jobs are picked up later.

    A worker drives only the jobs of the endpoints it is configured for (provider, base URL and key
    variable, from the environment or --config) and reports the due jobs of other endpoints it leaves alone.
    """
    policy = DEFAULT_POLICY if time_scale == 1.0 else PollPolicy(time_scale=time_scale)
    rates = dict(parse_rate(r) for r in rate or [])
    with reported(False):
        stats = asyncio.run(
            _run(
                _client(store, downloads, policy, rates, config),
                worker_id=worker_id,
                lease=lease,
                concurrency=concurrency,
                batch=batch,
                idle=idle,
                until_idle=until_idle,
            )
        )
    err.print(f"stopped: {stats.claimed} claimed, {stats.steps} steps, {len(stats.finished)} finished, "
              f"{stats.errors} errors, {stats.lost_leases} lost leases")  # fmt: skip


async def _run(
    client: AsyncClient,
    *,
    worker_id: str | None,
    lease: float,
    concurrency: int,
    batch: int | None,
    idle: float,
    until_idle: bool,
) -> WorkerStats:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with client:
        runner = Worker(
            client.engine, worker_id=worker_id, lease_s=lease, concurrency=concurrency, batch=batch, idle_s=idle
        )
        served = sorted(runner.endpoints.values())
        err.print(f"vidgate worker {runner.worker_id}: lease {lease:g} s, {concurrency} at once; endpoints: "
                  + ("; ".join(served) or "none (no API key is set: no job can be sent)"))  # fmt: skip
        return await runner.run(stop, until_idle=until_idle)


def _client(
    store: str | None, downloads: Path, policy: PollPolicy, rates: dict[str, float], config: Path | None
) -> AsyncClient:
    """A plain client, or with ``--config`` the gateway's routes (each job through its own host and key)."""
    if config is None:
        return AsyncClient(store=open_store(store), downloads_dir=downloads, poll_policy=policy, rate_limits=rates)
    import os

    from vidgate.catalog import load_catalog
    from vidgate.server.config import default_downloads, load_config
    from vidgate.server.routing import gateway_client

    cfg = load_config(config)
    s = cfg.server
    if policy == DEFAULT_POLICY and s.time_scale != 1.0:
        policy = PollPolicy(time_scale=s.time_scale)
    # downloads must be where the gateways serve them from: the config's directory wins
    where = Path(s.downloads_dir) if s.downloads_dir else (downloads if downloads != DEFAULT_DOWNLOADS else None)
    return gateway_client(
        cfg,
        open_store(store or s.database_url),
        load_catalog(),
        os.environ,
        where or default_downloads(os.environ),
        poll_policy=policy,
        rate_limits=rates,
    )
