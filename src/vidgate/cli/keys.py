"""``vidgate keys``: the gateway's API keys (create shows the key once; only a salted hash is stored)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from vidgate.cli._common import JsonOpt, OldStoreOpt, StoreOpt, err, out, reported, store_url
from vidgate.store import open_store

keys_app = typer.Typer(help="Gateway API keys: create, list, revoke.", no_args_is_help=True)


def _row(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "created_at": record.created_at.isoformat(),
        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
        "rate_limit_per_min": record.rate_limit_per_min,
        "budget_usd": record.budget_usd,
        "spent_usd": round(record.spent_usd, 6),
        "webhook_url": record.webhook_url,
    }


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who or what uses the key (shown in lists)")],
    rate_limit: Annotated[int | None, typer.Option(help="Most video creates per minute")] = None,
    budget: Annotated[float | None, typer.Option(help="Spend budget in USD (estimated from prices per second)")] = None,
    webhook_url: Annotated[str | None, typer.Option(help="Default callback URL for this key's videos")] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="The gateway's TOML: its allow_hosts apply to --webhook-url and its database_url is the default",
        ),
    ] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    database_url: OldStoreOpt = None,
) -> None:
    """Create a key and print it once (it cannot be shown again)."""
    from vidgate.net.ssrf import FetchFailed, FetchPolicy, FetchRefused
    from vidgate.server.config import load_config
    from vidgate.server.tenants import create_key
    from vidgate.server.webhooks_out import check_url
    from vidgate.store.gateway import gateway_data

    with reported(as_json):
        settings = load_config(config).server
        database_url = store_url(store, database_url)
        if database_url is None and config is not None:
            database_url = settings.database_url
        if rate_limit is not None and rate_limit < 1:
            raise typer.BadParameter(f"--rate-limit must be at least 1, got {rate_limit}")
        if budget is not None and not (math.isfinite(budget) and budget >= 0):
            raise typer.BadParameter(f"--budget must be a finite amount of USD, 0 or more; got {budget}")
        if webhook_url:
            try:
                check_url(webhook_url, FetchPolicy.allowing(settings.allow_hosts))
            except FetchRefused as exc:
                raise typer.BadParameter(f"--webhook-url is refused: {exc.reason}") from None
            except FetchFailed as exc:
                raise typer.BadParameter(f"--webhook-url cannot be used: {exc.reason}") from None
        with open_store(database_url) as jobs:
            made = create_key(
                gateway_data(jobs), name, rate_limit_per_min=rate_limit, budget_usd=budget, webhook_url=webhook_url
            )
        if as_json:
            sys.stdout.write(json.dumps({**_row(made.record), "key": made.token}) + "\n")
            return
        out.print(made.token, markup=False)
        err.print(
            f"Key {made.record.id} ({name}) created. Store it now: only its hash is kept. "
            "Its webhooks are signed with the secret GET /v1/webhook_secret returns."
        )


@keys_app.command("list")
def list_keys(store: StoreOpt = None, as_json: JsonOpt = False, database_url: OldStoreOpt = None) -> None:
    """Every key (id, name, limits, spend, revoked); never the keys themselves."""
    from vidgate.store.gateway import gateway_data

    with reported(as_json), open_store(store_url(store, database_url)) as jobs:
        rows = [_row(k) for k in gateway_data(jobs).list_keys()]
        if as_json:
            sys.stdout.write(json.dumps(rows) + "\n")
            return
        table = Table(title=f"{len(rows)} keys")
        table.add_column("id", no_wrap=True)  # what `keys revoke` takes: never split, whatever the width
        for col in ("name", "created", "state", "rate/min", "budget", "spent", "webhook"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(
                escape(r["id"]),
                escape(r["name"]),
                r["created_at"][:19],
                "revoked" if r["revoked_at"] else "active",
                str(r["rate_limit_per_min"] or ""),
                "" if r["budget_usd"] is None else f"${r['budget_usd']:g}",
                f"${r['spent_usd']:g}",
                escape(r["webhook_url"] or ""),
            )
        out.print(table)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `vidgate keys list`)")],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    database_url: OldStoreOpt = None,
) -> None:
    """Revoke a key at once, on every gateway replica sharing the database."""
    from vidgate.server.tenants import key_id_of
    from vidgate.store.gateway import gateway_data
    from vidgate.types import utcnow

    with reported(as_json), open_store(store_url(store, database_url)) as jobs:
        data = gateway_data(jobs)
        key_id = key_id_of(key_id) or key_id  # a whole key works too
        if data.get_key(key_id) is None:
            err.print(f"No key with id {key_id!r}; `vidgate keys list` shows them.", markup=False)
            raise typer.Exit(2)
        done = data.revoke_key(key_id, utcnow())
        if as_json:
            sys.stdout.write(json.dumps({"id": key_id, "revoked": True, "already": not done}) + "\n")
        else:
            err.print(f"Key {key_id} {'revoked' if done else 'was already revoked'}.", markup=False)
