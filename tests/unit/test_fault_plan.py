"""The emulator's fault logic without a server: rule selection, seeding, tokens, padded files, error shapes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
from pathlib import Path

import pytest
from pydantic import ValidationError

from vidgate.emulator.control import prompt_of
from vidgate.emulator.fault_plan import FaultPlan, FaultRule, LateFailure
from vidgate.emulator.faults import FaultBook, endpoint_matches, request_fingerprint
from vidgate.emulator.faults_shapes import error_body, shape_for
from vidgate.emulator.file_tokens import FileIndex
from vidgate.emulator.files import CHUNK, VideoFile

STATUS_TEMPLATE = "/v2/videos/generations/{task_id:path}"


@pytest.mark.parametrize(
    ("pattern", "method", "path", "template", "hit"),
    [
        ("*", "GET", "/anything", None, True),
        ("POST *", "POST", "/v2/videos/generations", "/v2/videos/generations", True),
        ("POST *", "GET", "/v2/videos/generations", "/v2/videos/generations", False),
        ("POST /v2/videos/generations", "POST", "/v2/videos/generations", "/v2/videos/generations", True),
        ("GET /v2/videos/generations/{task_id}", "GET", "/v2/videos/generations/abc", STATUS_TEMPLATE, True),
        ("GET /v2/videos/generations/*", "GET", "/v2/videos/generations/veo3:1-x", STATUS_TEMPLATE, True),
        ("GET /cdn/{token}.mp4", "GET", "/cdn/ab12.mp4", "/cdn/{token}.mp4", True),
        ("GET /cdn/*", "HEAD", "/cdn/ab12.mp4", "/cdn/{token}.mp4", True),
        ("/cdn/*", "GET", "/cdn/ab12.mp4", None, True),
        ("get /cdn/*", "GET", "/cdn/ab12.mp4", None, True),
        ("GET /cdn/*", "GET", "/zhipu-cdn/ab12.jpg", None, False),
        ("DELETE /v1/videos/*", "GET", "/v1/videos/video_1", "/v1/videos/{video_id}", False),
    ],
)
def test_endpoint_patterns(pattern: str, method: str, path: str, template: str | None, hit: bool) -> None:
    assert endpoint_matches(pattern, method, path, template) is hit


def pick_all(book: FaultBook, n: int, path: str = "/v2/videos/generations/t") -> list[str | None]:
    out = []
    for _ in range(n):
        rule = book.pick("GET", path, STATUS_TEMPLATE)
        out.append(None if rule is None else rule.kind)
    return out


def test_skip_and_count_make_a_burst() -> None:
    book = FaultBook(FaultPlan(rules=[FaultRule(endpoint="GET /v2/*", kind="error", status=503, skip=1, count=3)]))
    assert pick_all(book, 6) == [None, "error", "error", "error", None, None]
    assert book.snapshot()["rules"][0] == {"endpoint": "GET /v2/*", "kind": "error", "seen": 6, "fired": 3}


def test_first_firing_rule_wins_and_the_next_takes_over_when_spent() -> None:
    rules = [FaultRule(kind="error", status=429, count=1), FaultRule(kind="delay", delay_s=0.1, count=1)]
    assert pick_all(FaultBook(FaultPlan(rules=rules)), 3) == ["error", "delay", None]


def test_probability_is_seeded_and_repeatable() -> None:
    plan = FaultPlan(seed=42, rules=[FaultRule(kind="error", probability=0.3)])
    first = pick_all(FaultBook(plan), 200)
    again = pick_all(FaultBook(plan), 200)
    other = pick_all(FaultBook(plan.model_copy(update={"seed": 43})), 200)
    assert first == again
    assert first != other
    assert 30 < first.count("error") < 90  # about 60 of 200


def test_control_paths_are_never_faulted() -> None:
    book = FaultBook(FaultPlan(rules=[FaultRule(kind="drop")]))
    assert book.pick("GET", "/_emulator/faults", None) is None
    assert book.pick("GET", "/v2/x", None) is not None


def test_body_filter() -> None:
    book = FaultBook(FaultPlan(rules=[FaultRule(endpoint="POST *", kind="drop", body_contains="drop_me")]))
    assert book.wants_body("POST", "/v2/videos/generations", None)
    assert not book.wants_body("GET", "/v2/videos/generations", None)
    assert book.pick("POST", "/v2/videos/generations", None, b'{"prompt": "a cat"}') is None
    assert book.pick("POST", "/v2/videos/generations", None, b'{"prompt": "DROP_ME now"}') is not None


def test_set_restarts_counters_and_restore_returns_to_the_startup_plan() -> None:
    startup = FaultPlan(rules=[FaultRule(kind="error", count=1)])
    book = FaultBook(startup)
    assert pick_all(book, 2) == ["error", None]
    book.record("error_503")
    book.set(startup)
    assert pick_all(book, 1) == ["error"]
    book.clear()
    assert pick_all(book, 1) == [None]
    book.restore()
    assert book.plan == startup and book.injected == {}
    assert pick_all(book, 1) == ["error"]


def test_late_failure_by_trigger_and_by_seeded_probability() -> None:
    book = FaultBook(FaultPlan(seed=1, late_failure=LateFailure(trigger="FAIL_LATE", probability=0.5)))
    at = book.late_fail_at("fp-trigger", '{"prompt": "a cat fail_late"}')
    assert at is not None and 0.90 <= at <= 0.99
    hits = [book.late_fail_at(f"fp{i}", "{}") for i in range(100)]
    assert 25 < sum(h is not None for h in hits) < 75
    assert hits == [book.late_fail_at(f"fp{i}", "{}") for i in range(100)]
    assert FaultBook(FaultPlan()).late_fail_at("fp", "FAIL_LATE") is None


def test_plan_validation_names_the_problem() -> None:
    with pytest.raises(ValidationError) as info:
        FaultPlan.model_validate({"rules": [{"kind": "explode"}, {"kind": "error", "probability": 2}]})
    text = str(info.value)
    assert "explode" in text and "probability" in text
    with pytest.raises(ValidationError, match="swap them"):
        LateFailure(min_progress=0.99, max_progress=0.9)
    with pytest.raises(ValidationError):
        FaultPlan.model_validate({"url_ttl": 3})  # a typo is refused, not ignored


def test_plan_loads_from_file_or_inline_json(tmp_path: Path) -> None:
    plan = {"seed": 3, "rules": [{"endpoint": "GET /cdn/*", "kind": "reset", "after_bytes": 10}], "url_ttl_s": 5}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    assert FaultPlan.load(path) == FaultPlan.load(json.dumps(plan)) == FaultPlan.model_validate(plan)


def test_request_fingerprint_is_stable_and_content_based() -> None:
    a = request_fingerprint("relay-unified", "sora-2", {"prompt": "x", "duration": "10"})
    assert a == request_fingerprint("relay-unified", "sora-2", {"duration": "10", "prompt": "x"})
    assert a != request_fingerprint("relay-unified", "sora-2", {"prompt": "y", "duration": "10"})
    assert request_fingerprint("d", "m", {"file": b"\x00\x01"}) == request_fingerprint("d", "m", {"file": b"\x00\x01"})


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_file_tokens_expire_and_are_signed() -> None:
    clock = Clock()
    ttl: list[float | None] = [None]
    index: FileIndex[str] = FileIndex(clock, lambda: ttl[0])
    index["abc"] = "job"
    assert index.mint("abc") == "abc" and index.get("abc") == "job"
    ttl[0] = 2.0
    token = index.mint("abc")
    assert token.startswith("abc-") and index.get(token) == "job" and token in index
    assert index.resolve("abc")[1] == "unsigned"
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert index.resolve(forged)[1] == "signature"
    clock.t += 2.5
    job, problem, late = index.resolve(token)
    assert (job, problem) == ("job", "expired") and late == pytest.approx(0.5, abs=0.01)
    assert index.get(token) is None
    assert index.get(index.mint("abc")) == "job"  # a fresh token works again
    assert index.resolve("nope")[1] == "unknown"
    assert index.pop(token) == "job" and len(index) == 0


def collect(vf: VideoFile, start: int, stop: int) -> bytes:
    async def run() -> bytes:
        return b"".join([bytes(c) async for c in vf.iter_range(start, stop)])

    return asyncio.run(run())


def test_video_file_layout_padding_and_ranges() -> None:
    mp4 = b"\x00\x00\x00\x18ftypisom" + b"M" * 100
    tag = b"vidgate-emulator task_id=t1"
    small = VideoFile.build(mp4, tag)
    assert small.size == len(mp4) + 8 + len(tag)
    assert collect(small, 0, small.size) == mp4 + struct.pack(">I4s", 8 + len(tag), b"free") + tag
    big = VideoFile.build(mp4, tag, 3 * CHUNK + 5)
    assert big.size == 3 * CHUNK + 5 and len(big.head) < 1024  # the padding is never held in memory
    whole = collect(big, 0, big.size)
    assert whole[len(mp4) : len(mp4) + 8] == struct.pack(">I4s", big.size - len(mp4), b"free")
    assert hashlib.sha256(whole).hexdigest() == big.sha256()
    assert collect(big, 100, 5000) == whole[100:5000]
    assert collect(big, big.size - 7, big.size) == bytes(7)


def test_video_file_beyond_4_gib_uses_a_64_bit_box() -> None:
    mp4 = b"\x00\x00\x00\x18ftypisom" + b"M" * 16
    huge = VideoFile.build(mp4, b"t", 5 * 2**30)
    box = huge.size - len(mp4)
    assert huge.head[len(mp4) : len(mp4) + 16] == struct.pack(">I4sQ", 1, b"free", box)
    assert collect(huge, huge.size - 3, huge.size) == bytes(3)


def test_error_shapes() -> None:
    assert shape_for("/api/paas/v4/videos/generations") == "zhipu"
    assert shape_for("/v1beta/models/veo-3.1-generate-preview:predictLongRunning") == "google"
    assert shape_for("/cdn/abc.mp4") == "text"
    assert shape_for("/v2/videos/generations") == "openai"
    body, ctype = error_body("auto", "/v2/videos/generations", 429, None)
    assert ctype == "application/json"
    assert json.loads(body)["error"]["code"] == "rate_limit_exceeded"
    zhipu = json.loads(error_body("zhipu", "/x", 429, None)[0])
    assert set(zhipu) == {"error"} and zhipu["error"]["code"] == "1302" and zhipu["error"]["message"]
    google = json.loads(error_body("google", "/x", 503, "busy")[0])
    assert google == {"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}}


def test_prompt_of_finds_the_prompt_in_any_dialect_body() -> None:
    assert prompt_of({"model": "sora-2", "prompt": "a cat"}) == "a cat"
    assert prompt_of({"instances": [{"prompt": "a fox", "image": {}}], "parameters": {}}) == "a fox"
    chat = {"messages": [{"role": "user", "content": [{"type": "text", "text": "竖屏 动起来"}]}]}
    assert prompt_of(chat) == "竖屏 动起来"
    assert prompt_of({"model": "m", "n": 1}) is None
