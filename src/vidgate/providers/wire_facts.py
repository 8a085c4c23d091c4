"""What a model really puts on the wire for duration, aspect ratio, size, resolution and HD.

The answers to "how is duration / aspect ratio passed?" are read from the create request the model's dialect
*builds* for sample requests, not typed by hand: each allowed value is asked for alone (and with each aspect
ratio, since sizes and model names depend on orientation), the body is compared with the one built for the
bare prompt, and the fields that changed are the ones that carry the value. The docs (``vidgate docs``),
``vidgate models`` and the console show these lines; ``tests/unit/test_docs_gen.py`` checks every one of them
against the body again. Sans-IO like the dialects: nothing is sent.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from vidgate.catalog import check, load_catalog
from vidgate.catalog.schema import ModelSpec, ProviderSpec
from vidgate.catalog.validate import assign_roles
from vidgate.net.steps import Stream
from vidgate.providers import DIALECTS
from vidgate.providers._base import Connection, Prepared
from vidgate.types import VideoRequest

SAMPLE_PROMPT = "a cat"
SAMPLE_IMAGE = "https://images.example/sample.png"
CONCEPTS = {
    "duration": "Duration",
    "aspect_ratio": "Aspect ratio",
    "size": "Size",
    "resolution": "Resolution",
    "hd": "HD",
}
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
_SETTINGS = {"project": "my-project", "location": "us-central1", "secret_key": "sample-secret-key-of-32-bytes-xxxx"}


def json_type(value: Any) -> str:
    """The JSON type name of a decoded body value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def decode_body(request: httpx.Request) -> tuple[dict[str, Any], bool]:
    """The body as a dict and whether it is multipart (whose fields are text; file parts become ``<file>``)."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/"):
        raw = b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + request.content
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        out: dict[str, Any] = {}
        for part in msg.iter_parts():  # type: ignore[attr-defined]
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            text = payload.decode("utf-8") if isinstance(payload, bytes) else ""
            out[str(name)] = "<file>" if part.get_filename() else text
        return out, True
    return (json.loads(request.content) if request.content else {}), False


def flatten(body: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf values by dotted path: ``parameters.durationSeconds``, ``messages[0].content``."""
    if isinstance(body, dict) and body:
        out: dict[str, Any] = {}
        for k, v in body.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(body, list) and body and all(isinstance(x, dict | list) for x in body):
        out = {}
        for i, v in enumerate(body):
            out.update(flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: body}


def sample_fields(spec: ModelSpec) -> dict[str, Any]:
    """The smallest request the model accepts: a prompt, plus image URLs when it has no text-only mode."""
    kw: dict[str, Any] = {"prompt": SAMPLE_PROMPT, "model": spec.key}
    if "text" not in spec.modes:
        kw["images"] = [SAMPLE_IMAGE] * (2 if spec.modes == ["first_last"] else max(1, spec.images.min_count))
    return kw


def create_request(spec: ModelSpec, provider: ProviderSpec | None = None, **fields: Any) -> httpx.Request | None:
    """The first request the dialect's create flow sends for this request; None when the catalog refuses it."""
    dialect = DIALECTS[spec.dialect]
    provider = provider or load_catalog().providers[spec.provider]
    request = VideoRequest(**{**sample_fields(spec), **fields})
    report = check(request, spec, options_model=dialect.Options, allow_retired=True)
    if not report.ok:
        return None
    conn = Connection(provider, "https://api.example", "sk-sample", _SETTINGS)
    prepared = Prepared(request, spec, report.images, assign_roles(report.images, spec), "sample")
    step = next(dialect.submit(prepared, conn))  # type: ignore[arg-type]
    return step.request if isinstance(step, Stream) else step  # type: ignore[return-value]


def create_body(
    spec: ModelSpec, provider: ProviderSpec | None = None, **fields: Any
) -> tuple[dict[str, Any], bool] | None:
    """The decoded create body (see ``decode_body``) for the sample request plus ``fields``."""
    request = create_request(spec, provider, **fields)
    return decode_body(request) if request is not None else None


@dataclass
class Sent:
    """One sample: what was asked (``{"duration": 15, "aspect_ratio": "16:9"}``) and the leaf values sent."""

    asked: dict[str, Any]
    leaves: dict[str, Any]


@dataclass
class WireConcept:
    """How one concept travels: the body paths that carry it, their JSON type, and the samples."""

    concept: str
    paths: list[str] = field(default_factory=list)
    multipart: bool = False
    baseline: dict[str, Any] = field(default_factory=dict)
    samples: list[Sent] = field(default_factory=list)

    def type_of(self, path: str) -> str:
        for s in self.samples:
            if s.leaves.get(path, MISSING) is not MISSING:
                return json_type(s.leaves[path])
        return json_type(self.baseline.get(path))


def _values(spec: ModelSpec, concept: str) -> list[Any]:
    if concept == "duration":
        return (
            [int(d) if float(d).is_integer() else d for d in spec.duration.candidates()] if spec.duration.field else []
        )
    if concept == "hd":
        return [True] if spec.hd.supported else []
    choice = getattr(spec, concept)
    return list(choice.values) if choice.supported else []


def _option_values(spec: ModelSpec) -> list[dict[str, Any]]:
    """Option settings the catalog's rules name (e.g. ``{"group": "official"}``), to try when a value needs one."""
    out: list[dict[str, Any]] = []
    for rule in spec.constraints:
        for name, values in {**rule.when, **rule.require}.items():
            if name in spec.options:
                out += [{name: v} for v in values if {name: v} not in out]
    return out


def _probe(
    spec: ModelSpec, provider: ProviderSpec, asked: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The leaves sent for ``asked`` and what else had to be asked: when the catalog refuses ``asked`` alone,
    the first other value (or option a rule names) that makes it acceptable."""
    body = create_body(spec, provider, **asked)
    if body is not None:
        return flatten(body[0]), {}
    for other in CONCEPTS:
        if other in asked:
            continue
        for value in _values(spec, other):
            body = create_body(spec, provider, **asked, **{other: value})
            if body is not None:
                return flatten(body[0]), {other: value}
    for option in _option_values(spec):
        body = create_body(spec, provider, **asked, options=option)
        if body is not None:
            return flatten(body[0]), {"options": option}
    return None


def _wire_concepts(spec: ModelSpec, provider: ProviderSpec) -> dict[str, WireConcept]:
    base = create_body(spec, provider)
    if base is None:
        return {}
    baseline, multipart = flatten(base[0]), base[1]
    references: dict[str, dict[str, Any] | None] = {}

    def reference(fields: dict[str, Any]) -> dict[str, Any] | None:
        """What is sent for the context alone (an aspect ratio, an option), to tell its fields from the concept's;
        None when the catalog refuses the context alone."""
        key = json.dumps(fields, sort_keys=True)
        if key not in references:
            body = create_body(spec, provider, **fields) if fields else base
            references[key] = flatten(body[0]) if body is not None else None
        return references[key]

    out: dict[str, WireConcept] = {}
    for concept in CONCEPTS:
        wc = WireConcept(concept, multipart=multipart, baseline=baseline)
        # Sizes and model names depend on orientation (and the chat route's on length): sample those too.
        contexts: list[dict[str, Any]] = [{}]
        for other in ("aspect_ratio", "duration"):
            if other != concept:
                contexts += [{other: v} for v in _values(spec, other)]
        changed: set[str] = set()
        by_context: dict[str, list[dict[str, Any]]] = {}
        for value in _values(spec, concept):
            for ctx in contexts:
                probe = _probe(spec, provider, {concept: value, **ctx})
                if probe is None:
                    continue
                leaves, extra = probe
                wc.samples.append(Sent({concept: value, **ctx, **extra}, leaves))
                by_context.setdefault(json.dumps({**ctx, **extra}, sort_keys=True), []).append(leaves)
                ref = reference({**ctx, **extra}) if extra else None
                ref = ref if ref is not None else reference(ctx)
                if ref is not None:  # asked vs not asked, everything else equal
                    changed |= {p for p in set(leaves) | set(ref) if leaves.get(p, MISSING) != ref.get(p, MISSING)}
        for group in by_context.values():  # one value vs another, everything else equal
            paths = {p for leaves in group for p in leaves}
            changed |= {p for p in paths if len({json.dumps(lv.get(p, None)) for lv in group}) > 1}
        # A parent that only changed because a child appeared (``parameters: {}`` -> ``{durationSeconds: 8}``).
        changed = {p for p in changed if not any(q.startswith((p + ".", p + "[")) for q in changed)}
        declared = getattr(spec, concept).field
        if not changed and declared and any(declared in s.leaves for s in wc.samples):
            changed = {declared}
        wc.paths = sorted(changed, key=lambda p: (p != declared, p))
        # Keep only the samples that say something: one per value, plus the contexts that send something else.
        wc.samples = _distinct(wc)
        out[concept] = wc
    return out


def _distinct(wc: WireConcept) -> list[Sent]:
    out: list[Sent] = []
    by_value: dict[str, list[Sent]] = {}
    for s in wc.samples:
        by_value.setdefault(json.dumps(s.asked[wc.concept]), []).append(s)
    for group in by_value.values():
        plain = [s for s in group if len(s.asked) == 1]
        first = plain[0] if plain else group[0]
        out.append(first)
        shown = [_carried(wc, first)]
        for s in group:
            if _carried(wc, s) not in shown:  # an orientation that sends something else (e.g. -landscape)
                out.append(s)
                shown.append(_carried(wc, s))
    return out


def _carried(wc: WireConcept, s: Sent) -> str:
    return json.dumps([s.leaves.get(p, None) for p in wc.paths])


_CACHE: dict[str, dict[str, WireConcept]] = {}


def wire_concepts(spec: ModelSpec, provider: ProviderSpec | None = None) -> dict[str, WireConcept]:
    """Each supported concept of ``spec`` with the fields that carry it, read from the dialect's create body."""
    if spec.dialect not in DIALECTS:
        return {}
    provider = provider or load_catalog().providers.get(spec.provider)
    if provider is None:
        return {}
    key = spec.model_dump_json() + provider.model_dump_json()
    if key not in _CACHE:
        _CACHE[key] = _wire_concepts(spec, provider)
    return _CACHE[key]


def _asked(concept: str, asked: dict[str, Any]) -> str:
    value = asked[concept]
    text = "hd=true" if concept == "hd" else (f"{value} s" if concept == "duration" else str(value))
    extra = [
        ", ".join(f"option {k}={v}" for k, v in v.items())
        if k == "options"
        else (f"{v} s" if k == "duration" else ("hd=true" if k == "hd" else str(v)))
        for k, v in asked.items()
        if k != concept
    ]
    return text + (f" with {', '.join(extra)}" if extra else "")


def _sent(value: Any) -> str:
    return "not sent" if value is MISSING else f"`{json.dumps(value, ensure_ascii=False)}`"


def wire_line(spec: ModelSpec, wc: WireConcept) -> str | None:
    """``Duration: `seconds` (string, multipart form field): 4 s -> `"4"`, ...``; None when nothing is sent."""
    if not wc.paths:
        return None
    kind = ", multipart form field" if wc.multipart else ""
    fields = " and ".join(f"`{p}` ({wc.type_of(p)}{kind})" for p in wc.paths)
    pairs = []
    samples = wc.samples if len(wc.samples) <= 6 else wc.samples[:3] + wc.samples[-1:]
    for s in samples:
        sent = " + ".join(_sent(s.leaves.get(p, MISSING)) for p in wc.paths)
        pairs.append(f"{_asked(wc.concept, s.asked)} -> {sent}")
    if len(samples) < len(wc.samples):
        pairs.insert(3, "...")
    unasked = " + ".join(_sent(wc.baseline.get(p, MISSING)) for p in wc.paths)
    return f"{CONCEPTS[wc.concept]}: {fields}: {'; '.join(pairs)}; when not asked: {unasked}"


def parameter_lines(spec: ModelSpec, provider: ProviderSpec | None = None) -> dict[str, str]:
    """Concept -> the headline line read from the wire, for every concept the dialect puts in the create body."""
    out = {}
    for concept, wc in wire_concepts(spec, provider).items():
        line = wire_line(spec, wc)
        if line is not None:
            out[concept] = line
    return out
