"""Jobs made against an emulator: recognised by its public key, and dropped here when nothing can finish them.

A job remembers a key given on the command line only by its fingerprint, and the built-in emulator
(``generate --emulator``) lives on a random loopback port that dies with its command. Such a job can never be
polled again; since an emulator bills nothing, cancelling it in the store alone is always safe.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any
from urllib.parse import urlsplit

from vidgate.client import Client
from vidgate.emulator.state import DEFAULT_KEY
from vidgate.engine.endpoints import ProviderSettings, key_fingerprint
from vidgate.store import JobStore
from vidgate.types import Job

EMULATOR_KEY_REF = key_fingerprint(DEFAULT_KEY)


def made_with_emulator(job: Job) -> bool:
    """Sent with the emulator's public key to a loopback address: ``--emulator``, or ``vidgate emulate`` with
    ``--api-key emulator-key`` (no real provider takes that key)."""
    if job.credentials_ref != EMULATOR_KEY_REF or not job.base_url:
        return False
    host = urlsplit(job.base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cancel_here(store: JobStore, job: Job, reason: str) -> Job:
    """Mark ``job`` cancelled in the store without asking its provider (an emulator that is gone): no worker
    or gateway picks it up again, and nothing is left to bill."""
    with Client(store=store, env={}) as local:
        # the engine's local cancel (the one `Client.cancel` uses when a provider cannot cancel), without the
        # provider round trip that cannot reach a stopped emulator
        return local._core.cancel_locally(job, reason, provider_may_bill=False)


def emulator_client_options(url: str, api_key: str) -> dict[str, Any]:
    """How a client reaches every provider on the built-in emulator: the host for most, OpenAI's own flavour of
    ``/v1/videos`` under ``/openai`` (the root serves the relay's), the emulator's Kling signing secret and a
    Vertex project (with the emulator as its storage host) — so `-m openai/sora-2`, `-m kling/...` and Veo on
    Vertex run offline as the others do."""
    from vidgate.emulator.dialects.kling import SECRET_KEY as KLING_SECRET

    env = {
        **os.environ,
        "VIDGATE_KLING_SECRET_KEY": KLING_SECRET,
        "VIDGATE_VERTEX_PROJECT": os.environ.get("VIDGATE_VERTEX_PROJECT") or "emulator-project",
        "VIDGATE_VERTEX_STORAGE_BASE_URL": url,
    }
    providers = {"openai": ProviderSettings(base_url=f"{url}/openai", api_key=api_key)}
    return {"base_url": url, "api_key": api_key, "providers": providers, "env": env}
