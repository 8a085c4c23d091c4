"""Result storage: where finished videos and preview images are kept (``vidgate.storage.base`` has the contract).

open_storage("/var/lib/vidgate/files")        # a directory (the default: $VIDGATE_HOME/files)
open_storage("s3://videos/vidgate")           # an S3-compatible bucket and prefix (AWS_* variables)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from vidgate.errors import ConfigurationError
from vidgate.storage.base import ObjectWriter, RangeFile, ResultStorage, StoredObject
from vidgate.storage.local import LocalStorage

__all__ = ["LocalStorage", "ObjectWriter", "RangeFile", "ResultStorage", "StoredObject", "open_storage"]


def open_storage(url: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> ResultStorage:
    """The storage ``url`` names: ``s3://bucket/prefix``, ``file:///dir`` or a directory path."""
    text = os.fspath(url)
    scheme = urlsplit(text).scheme.lower() if "://" in text else ""
    if scheme == "s3":
        from vidgate.storage.s3 import S3Storage

        return S3Storage.from_url(text, env)
    if scheme == "file":
        return LocalStorage(Path(unquote(urlsplit(text).path)))
    if scheme:
        raise ConfigurationError(
            f"Result storage {text!r} has an unknown scheme {scheme!r}: give a directory, file:///DIR or "
            "s3://BUCKET/PREFIX (any S3-compatible store; endpoint and credentials from the AWS_* variables)."
        )
    return LocalStorage(Path(text))
