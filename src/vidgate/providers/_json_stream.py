"""Large base64 strings inside JSON: find one while the document streams, decode it with bounded memory.

Some providers return the finished video *inside* a JSON body as base64 (Gemini Interactions
``steps[].model_output.content[].data``, Vertex Veo ``response.videos[].bytesBase64Encoded``). Two tools:

* ``elide_long_strings`` shrinks a status body before it is parsed and kept as ``raw``: every long base64
  string becomes a short placeholder, so a 20 MB video is never held as a Python ``str`` nor stored
  in the job.
* ``Base64AtPointer`` is a streaming JSON scanner: fed the body chunk by chunk, it emits the decoded bytes
  of the string at one JSON Pointer (RFC 6901) and keeps only the path, a partial escape and at most
  three base64 characters between chunks — constant memory however large the video is.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from vidgate.errors import DownloadError

ELIDED_PREFIX = "vidgate:elided:"
ELIDE_MIN_CHARS = 4096
_LONG_B64 = re.compile(rb'(?<!\\)"([A-Za-z0-9+/_\-]{%d,}={0,2})"' % ELIDE_MIN_CHARS)


def elide_long_strings(raw: bytes) -> bytes:
    """``raw`` with each base64 string of 4096+ characters replaced by ``"vidgate:elided:<chars>"``."""
    return _LONG_B64.sub(lambda m: b'"%s%d"' % (ELIDED_PREFIX.encode(), len(m.group(1))), raw)


def is_elided(value: object) -> bool:
    return isinstance(value, str) and value.startswith(ELIDED_PREFIX)


def pointer(*parts: str | int) -> str:
    """A JSON Pointer from path parts: ``pointer("steps", 0, "data") == "/steps/0/data"``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def parse_pointer(text: str) -> list[str]:
    if text and not text.startswith("/"):
        raise ValueError(f"a JSON Pointer starts with '/': {text!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in text.split("/")[1:]] if text else []


class _B64Decoder:
    """Incremental base64 decoding (standard or URL-safe alphabet, whitespace ignored)."""

    def __init__(self) -> None:
        self._pending = b""
        self.total = 0

    def feed(self, text: bytes) -> bytes:
        data = self._pending + text.translate(None, b" \r\n\t").replace(b"-", b"+").replace(b"_", b"/")
        cut = len(data) - len(data) % 4
        self._pending = data[cut:]
        if not cut:
            return b""
        try:
            out = base64.b64decode(data[:cut], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DownloadError(f"the inline video is not valid base64 ({exc})") from None
        self.total += len(out)
        return out

    def close(self) -> bytes:
        if not self._pending:
            return b""
        padded = self._pending + b"=" * (-len(self._pending) % 4)
        self._pending = b""
        try:
            out = base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DownloadError(f"the inline video is not valid base64 ({exc})") from None
        self.total += len(out)
        return out


_WS = b" \t\r\n"
_SIMPLE_ESCAPES = {ord("/"): b"/", ord("n"): b"", ord("r"): b"", ord("t"): b"", ord('"'): b"", ord("\\"): b""}


class Base64AtPointer:
    """Feed a JSON document in chunks; get back the decoded bytes of the base64 string at ``pointer``.

    ``close()`` raises ``DownloadError`` when the document ended without that string.
    """

    def __init__(self, json_pointer: str) -> None:
        self.target = parse_pointer(json_pointer)
        self._decoder = _B64Decoder()
        self._stack: list[list[object]] = []  # [kind "o"/"a", key or index, state]
        self._state = "value"  # value | after | key | colon | string | scalar | done
        self._string_is_key = False
        self._string_is_target = False
        self._key = bytearray()
        self._escape = b""  # a partial escape sequence carried between chunks
        self.found = False
        self.finished = False

    # -------------------------------------------------------------- path bookkeeping

    def _path(self) -> list[str]:
        return [str(frame[1]) for frame in self._stack]

    def _value_done(self) -> None:
        self._state = "after" if self._stack else "done"

    # -------------------------------------------------------------- scanning

    def feed(self, chunk: bytes) -> bytes:
        out: list[bytes] = []
        i, n = 0, len(chunk)
        while i < n:
            state = self._state
            if state == "string":
                i = self._scan_string(chunk, i, out)
                continue
            c = chunk[i]
            if c in _WS:
                i += 1
                continue
            if state == "scalar":
                if c in b",]}":
                    self._value_done()
                    continue  # re-read the delimiter in the "after" state
                i += 1
                continue
            if state == "value":
                i += 1
                if c == ord("{"):
                    self._stack.append(["o", "", "key_or_end"])
                    self._state = "key"
                elif c == ord("["):
                    self._stack.append(["a", 0, "value_or_end"])
                    self._state = "array_start"
                elif c == ord('"'):
                    self._begin_string(is_key=False)
                else:
                    self._state = "scalar"
                continue
            if state == "array_start":
                if c == ord("]"):
                    i += 1
                    self._stack.pop()
                    self._value_done()
                else:
                    self._state = "value"
                continue
            if state == "key":
                i += 1
                if c == ord('"'):
                    self._begin_string(is_key=True)
                elif c == ord("}"):
                    self._stack.pop()
                    self._value_done()
                else:
                    raise DownloadError(f"malformed JSON: expected a key, got {chr(c)!r}")
                continue
            if state == "colon":
                i += 1
                if c != ord(":"):
                    raise DownloadError(f"malformed JSON: expected ':', got {chr(c)!r}")
                self._state = "value"
                continue
            if state == "after":
                i += 1
                frame = self._stack[-1]
                if c == ord(","):
                    if frame[0] == "a":
                        frame[1] = int(str(frame[1])) + 1
                        self._state = "value"
                    else:
                        self._state = "key"
                elif c in b"]}":
                    self._stack.pop()
                    self._value_done()
                else:
                    raise DownloadError(f"malformed JSON: unexpected {chr(c)!r}")
                continue
            i += 1  # "done": trailing bytes after the document are ignored
        return b"".join(out)

    def _begin_string(self, *, is_key: bool) -> None:
        self._state = "string"
        self._string_is_key = is_key
        self._key.clear()
        self._string_is_target = not is_key and self._path() == self.target

    def _scan_string(self, chunk: bytes, i: int, out: list[bytes]) -> int:
        n = len(chunk)
        while self._escape:
            need = 6 if self._escape[1:2] == b"u" else 2
            if len(self._escape) >= need:
                self._emit(self._unescape(self._escape), out)
                self._escape = b""
                break
            if i >= n:
                return i
            self._escape += chunk[i : i + 1]
            i += 1
        while i < n:
            q = chunk.find(b'"', i)
            b = chunk.find(b"\\", i)
            stop = q if b == -1 else (b if q == -1 else min(q, b))
            if stop == -1:
                self._emit(chunk[i:], out)
                return n
            self._emit(chunk[i:stop], out)
            if stop == q and (b == -1 or q < b):
                self._end_string()
                return q + 1
            # an escape: complete it here if the chunk holds all of it
            need = 6 if chunk[stop + 1 : stop + 2] == b"u" else 2
            if stop + need <= n:
                self._emit(self._unescape(chunk[stop : stop + need]), out)
                i = stop + need
            else:
                self._escape = chunk[stop:]
                return n
        return n

    def _unescape(self, seq: bytes) -> bytes:
        if seq[1:2] == b"u":
            return chr(int(seq[2:6], 16)).encode("utf-8")
        if self._string_is_key:
            return str(json.loads(b'"' + seq + b'"')).encode("utf-8")
        if not self._string_is_target:
            return b""
        return _SIMPLE_ESCAPES.get(seq[1], seq[1:2])

    def _emit(self, data: bytes, out: list[bytes]) -> None:
        if not data:
            return
        if self._string_is_key:
            self._key += data
        elif self._string_is_target:
            out.append(self._decoder.feed(data))

    def _end_string(self) -> None:
        if self._string_is_key:
            frame = self._stack[-1]
            frame[1] = self._key.decode("utf-8", errors="replace")
            self._state = "colon"
            return
        if self._string_is_target:
            self.found = True
        self._string_is_target = False
        self._value_done()

    def close(self) -> bytes:
        if not self.found:
            where = "/" + "/".join(self.target)
            raise DownloadError(f"the response has no inline video at {where}")
        self.finished = True
        return self._decoder.close()

    @property
    def decoded_bytes(self) -> int:
        return self._decoder.total
