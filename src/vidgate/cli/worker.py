"""``vidgate worker``: run jobs from a shared store until stopped (any number of them, anywhere)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from vidgate.catalog import load_catalog
from vidgate.cli._common import OldStoreOpt, StoreOpt, info, reported, run_async, store_url
from vidgate.client import AsyncClient
from vidgate.engine.callbacks import Callbacks, wire_callbacks
from vidgate.engine.polling import DEFAULT_POLICY, PollPolicy
from vidgate.engine.retention import retention_loop
from vidgate.engine.worker import Worker, WorkerStats
from vidgate.net.loopback import LoopbackServer
from vidgate.server.config import default_downloads, load_config
from vidgate.server.routing import gateway_client
from vidgate.server.signing import Signer, load_gateway_secret
from vidgate.storage import LocalStorage
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
    store: StoreOpt = None,
    downloads: Annotated[
        Path | None,
        typer.Option(
            help="Where finished videos are saved when their job names no --out (default: $VIDGATE_HOME/files, "
            "i.e. ~/.vidgate/files; with --config its downloads_dir)"
        ),
    ] = None,
    lease: Annotated[float, typer.Option(help="Seconds a claimed job stays ours without a heartbeat", min=1.0)] = 60.0,
    concurrency: Annotated[int, typer.Option(help="Jobs worked on at once (one event loop)", min=1, max=10000)] = 64,
    batch: Annotated[int | None, typer.Option(help="Jobs claimed per round (default: concurrency)", min=1)] = None,
    idle: Annotated[float, typer.Option(help="Seconds to wait when no job is due", min=0.0)] = 1.0,
    until_idle: Annotated[bool, typer.Option(help="Exit when no job is due")] = False,
    time_scale: Annotated[
        float, typer.Option(help="Poll faster for emulators that run jobs faster", min=1e-9, max=1000.0)
    ] = 1.0,
    worker_id: Annotated[str | None, typer.Option(help="Name in leases (default host:pid:random)")] = None,
    rate: Annotated[
        list[str] | None,
        typer.Option(
            help="PROVIDER=REQUESTS_PER_SECOND: a provider's rate (repeatable); with a database --store it is "
            "shared by every worker and gateway on that database, else this process's own"
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Gateway TOML: run each job through its route (host + key)"),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="The URL providers reach --hooks-host:--hooks-port at: receive their webhooks there and "
            "send each job's own callback URL where the provider takes one"
        ),
    ] = None,
    hooks_host: Annotated[str, typer.Option(help="Interface the webhook receiver listens on")] = "127.0.0.1",
    hooks_port: Annotated[int, typer.Option(help="Port the webhook receiver listens on", min=0, max=65535)] = 8090,
    storage: Annotated[
        str | None,
        typer.Option(
            envvar="VIDGATE_STORAGE",
            help="Result storage: s3://BUCKET/PREFIX (S3-compatible; AWS_ENDPOINT_URL, AWS_REGION, "
            "AWS_ACCESS_KEY_ID...) to stream results into a store every gateway serves from (default: --downloads)",
        ),
    ] = None,
    retention: Annotated[
        float | None,
        typer.Option(help="Delete saved results from storage this many seconds after their job ended", min=1.0),
    ] = None,
    database_url: OldStoreOpt = None,
) -> None:
    """Claim due jobs under a lease, poll them, download results; a killed worker's jobs are picked up later.

    A worker drives only the jobs of the endpoints it is configured for (provider, base URL and key
    variable, from the environment or --config) and reports the due jobs of other endpoints it leaves alone.
    A job created with --out is saved there; others under --downloads.
    """
    store = store_url(store, database_url)
    policy = DEFAULT_POLICY if time_scale == 1.0 else PollPolicy(time_scale=time_scale)
    rates = dict(parse_rate(r) for r in rate or [])
    with reported(False), contextlib.ExitStack() as stack:
        client, hooks = _client(store, downloads, policy, rates, config, public_url, storage)
        if hooks is not None:
            stack.enter_context(LoopbackServer(hooks.receiver.app(), hooks_host, hooks_port, name="webhooks in"))
            logging.getLogger("uvicorn.access").addFilter(hooks.receiver.log_filter())
            info.print(f"Webhooks in on http://{hooks_host}:{hooks_port}/hooks (public: {hooks.public_url}/hooks)")
        stats = run_async(
            _run(
                client,
                hooks,
                worker_id=worker_id,
                lease=lease,
                concurrency=concurrency,
                batch=batch,
                idle=idle,
                until_idle=until_idle,
                retention=retention,
            )
        )
    info.print(f"stopped: {stats.claimed} claimed, {stats.steps} steps, {len(stats.finished)} finished, "
              f"{stats.errors} errors, {stats.lost_leases} lost leases")  # fmt: skip


async def _run(
    client: AsyncClient,
    hooks: Callbacks | None,
    *,
    worker_id: str | None,
    lease: float,
    concurrency: int,
    batch: int | None,
    idle: float,
    until_idle: bool,
    retention: float | None = None,
) -> WorkerStats:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with client:
        runner = Worker(
            client.engine, worker_id=worker_id, lease_s=lease, concurrency=concurrency, batch=batch, idle_s=idle
        )
        if hooks is not None:
            hooks.wakers.callbacks.append(runner.notify)
        served = sorted(runner.endpoints.values())
        info.print(f"vidgate worker {runner.worker_id}: lease {lease:g} s, {concurrency} at once; endpoints: "
                  + ("; ".join(served) or "none (no API key is set: no job can be sent)"))  # fmt: skip
        if retention is not None:
            core = client.engine.core
            kept = core.storage or LocalStorage(core.downloads_dir or Path.cwd())
            sweeping = asyncio.ensure_future(retention_loop(core, kept, retention, stop))
        try:
            return await runner.run(stop, until_idle=until_idle)
        finally:
            if retention is not None:
                stop.set()
                await sweeping


def _client(
    store: str | None,
    downloads: Path | None,
    policy: PollPolicy,
    rates: dict[str, float],
    config: Path | None,
    public_url: str | None,
    storage: str | None = None,
) -> tuple[AsyncClient, Callbacks | None]:
    """A plain client, or with ``--config`` the gateway's routes (each job through its own host and key); with
    ``--public-url`` its jobs carry their callback URLs, and the receiver to serve comes with it."""
    env = os.environ
    cfg = load_config(config) if config is not None else None
    jobs = open_store(store or (cfg.server.database_url if cfg else None))
    hooks = None
    if public_url:
        secret = load_gateway_secret(env, cfg.server.secret_env if cfg else "VIDGATE_GATEWAY_SECRET")
        hooks = wire_callbacks(jobs, load_catalog(), public_url=public_url, notify_key=Signer(secret).notify_key(),
                               env=env)  # fmt: skip
    callbacks = hooks.callback_urls() if hooks else None
    if cfg is None:
        saves = downloads or default_downloads(env)
        info.print(f"Videos of jobs without --out go to {saves}", markup=False)
        client = AsyncClient(store=jobs, downloads_dir=saves, poll_policy=policy, rate_limits=rates,
                             callback_urls=callbacks, storage=storage)  # fmt: skip
    else:
        s = cfg.server
        if policy == DEFAULT_POLICY and s.time_scale != 1.0:
            policy = PollPolicy(time_scale=s.time_scale)
        # downloads must be where the gateways serve them from: the config's directory wins
        where = Path(s.downloads_dir) if s.downloads_dir else downloads
        given = {k: v for k, v in (("rate_limits", rates), ("storage", storage)) if v}  # else the config's
        client = gateway_client(cfg, jobs, load_catalog(), env, where or default_downloads(env), poll_policy=policy,
                                callback_urls=callbacks, **given)  # fmt: skip
    return client, hooks
