"""Streaming base64-in-JSON decoding with bounded memory, and eliding long strings before parsing."""

from __future__ import annotations

import base64
import json
import random

import pytest

from vidgate.errors import DownloadError
from vidgate.providers._json_stream import Base64AtPointer, elide_long_strings, is_elided, parse_pointer, pointer


def _doc(b64: str) -> bytes:
    return json.dumps({
        "id": 'v1_"quoted"', "n": [1, 2.5e3, True, None, {"a": []}], "k/~": {},
        "steps": [{"type": "user_input", "content": [{"type": "text", "text": "say \"hi\" \\ é"}]},
                  {"type": "model_output", "content": [{"type": "video", "mime_type": "video/mp4", "data": b64}]}],
    }).encode()  # fmt: skip


@pytest.mark.parametrize("seed", range(12))
def test_decodes_the_string_at_the_pointer_in_any_chunking(seed: int) -> None:
    rng = random.Random(seed)
    data = rng.randbytes(rng.randint(0, 30_000))
    b64 = base64.b64encode(data).decode()
    raw = _doc(b64).replace(b"/", b"\\/") if seed % 3 == 0 else _doc(b64)  # some encoders escape slashes
    decoder = Base64AtPointer(pointer("steps", 1, "content", 0, "data"))
    out, i = [], 0
    while i < len(raw):
        step = rng.randint(1, 7 if seed % 2 else 4000)
        out.append(decoder.feed(raw[i : i + step]))
        i += step
    out.append(decoder.close())
    assert b"".join(out) == data


def test_missing_pointer_and_bad_base64_raise_download_errors() -> None:
    decoder = Base64AtPointer("/steps/0/data")
    decoder.feed(b'{"steps": [{"other": "x"}]}')
    with pytest.raises(DownloadError, match="no inline video"):
        decoder.close()
    decoder = Base64AtPointer("/d")
    with pytest.raises(DownloadError, match="base64"):
        decoder.feed(b'{"d": "@@@@"}')


def test_elide_keeps_json_parseable_and_small() -> None:
    big = base64.b64encode(bytes(9000)).decode()
    raw = json.dumps({"a": big, "b": "short", "c": [big]}).encode()
    lean = json.loads(elide_long_strings(raw))
    assert is_elided(lean["a"]) and is_elided(lean["c"][0]) and lean["b"] == "short"
    assert len(json.dumps(lean)) < 200


def test_pointer_escaping_round_trips() -> None:
    assert pointer("a/b", "c~d", 0) == "/a~1b/c~0d/0"
    assert parse_pointer("/a~1b/c~0d/0") == ["a/b", "c~d", "0"]
