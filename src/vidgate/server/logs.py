"""Structured logs (one JSON object per line) with secrets redacted before anything is written.

Redacted wherever they appear in a message or a field: gateway API keys (``vg_<id>_<secret>`` keeps only
its public id), ``Bearer`` tokens, ``api_key=`` / ``signature=`` query values, the token of per-job callback
URLs (``/hooks/relay/{job}/{token}``), and every secret value the gateway knows (the provider keys its routes
read from the environment).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

# (text any match must contain, lower case; pattern; replacement). A line without the text skips the pattern:
# most lines (every access-log line) contain none, and a scan of a pattern that starts with \b or (?i) costs
# several microseconds per line.
_PATTERNS = [
    ("vg_", re.compile(r"\bvg_([0-9a-f]{12})_[A-Za-z0-9_-]+"), r"vg_\1_[redacted]"),
    ("bearer", re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    ("=", re.compile(r"(?i)\b(api[_-]?key|signature|token|secret|password)=([^&\s\"']+)"), r"\1=[redacted]"),
    ("whsec_", re.compile(r"whsec_[A-Za-z0-9+/=]+"), "whsec_[redacted]"),
    # a per-job callback URL's last segment is its credential: /hooks/relay/{job_id}/{token}
    ("/hooks/", re.compile(r"(/hooks/[a-z0-9_-]+/[^/\s\"'?]+/)[^/\s\"'?]+"), r"\1[redacted]"),
]
_STD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        lowered = text.lower()
        for needle, pattern, repl in _PATTERNS:
            if needle in lowered:
                text = pattern.sub(repl, text)
        return text


class JsonFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(doc, default=str, ensure_ascii=False))


def setup_logging(level: str = "info", secrets: Iterable[str] = (), stream: TextIO | None = None) -> Redactor:
    """Send vidgate's and uvicorn's logs through one redacting JSON handler."""
    redact = Redactor(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(redact))
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = name == "" or name == "uvicorn.error"
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]:
        root.removeHandler(old)  # a second call (tests, reloads) replaces vidgate's handler, never stacks it
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.error").propagate = True
    logging.getLogger("uvicorn").propagate = True
    logging.getLogger("httpx").setLevel("WARNING")
    logging.getLogger("psycopg.pool").setLevel("WARNING")  # a line per connection taken and given back at INFO
    return redact
