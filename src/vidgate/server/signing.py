"""The gateway secret: signs expiring file links and derives each key's webhook signing secret.

It comes from the environment variable the config names (``VIDGATE_GATEWAY_SECRET`` by default); replicas
must share it. Without it a random one is created once in ``$VIDGATE_HOME/gateway-secret`` (mode 0600),
which is enough for one process (or several on one machine).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path

from vidgate.store import HOME_ENV
from vidgate.webhooks.standard import SECRET_PREFIX


def load_gateway_secret(env: Mapping[str, str], env_var: str) -> bytes:
    value = env.get(env_var)
    if value:
        return value.encode("utf-8")
    home = env.get(HOME_ENV)
    path: Path = (Path(home).expanduser() if home else Path.home() / ".vidgate") / "gateway-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".gateway-secret.{os.getpid()}.{secrets.token_hex(4)}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
            os.link(tmp, path)  # atomic: the first process to get here wins, the others read its secret
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, purpose: str, message: str) -> bytes:
        return hmac.digest(self._secret, f"{purpose}\n{message}".encode(), hashlib.sha256)

    def webhook_secret(self, owner: str) -> str:
        """The Standard Webhooks secret (``whsec_...``) deliveries for ``owner`` are signed with."""
        return SECRET_PREFIX + base64.b64encode(self._mac("webhook", owner)).decode("ascii")

    def notify_key(self) -> str:
        """The key of the per-job callback URLs' tokens (``vidgate.engine.callbacks``): every replica's is the same."""
        return self._mac("notify", "per-job callbacks").hex()

    def file_query(self, job_id: str, variant: str, ttl_s: int, now: float | None = None) -> str:
        expires = int((now or time.time()) + ttl_s)
        sig = base64.urlsafe_b64encode(self._mac("file", f"{job_id}|{variant}|{expires}")).decode().rstrip("=")
        return f"expires={expires}&signature={sig}"

    def file_ok(self, job_id: str, variant: str, expires: int, signature: str, now: float | None = None) -> bool:
        if expires < (now or time.time()):
            return False
        want = base64.urlsafe_b64encode(self._mac("file", f"{job_id}|{variant}|{expires}")).decode().rstrip("=")
        return hmac.compare_digest(want.encode("ascii"), signature.encode("utf-8", "replace"))
