"""The user's five questions, answered from the catalog for any model (used by ``vidgate models`` and the docs).

1. parameter formats (duration, aspect ratio / size / resolution), 2. reference images, 3. prompt limits and
content rules, 4. how results and errors come back, 5. the character (cameo) feature; plus sunset status,
options, choices made where sources disagree, and sources. Everything is read from the data: a new provider
or model needs no change here, and catalog fields this module does not know are listed generically.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from vidgate.catalog.schema import ChoiceSpec, ModelSpec, ProviderSpec

# ModelSpec fields rendered by a section below; any other field with a non-default value goes to "Other facts".
_HANDLED = {
    "key", "provider", "dialect", "model", "family", "summary", "modes", "duration", "aspect_ratio", "resolution",
    "size", "hd", "images", "prompt", "storyboard", "characters", "options", "constraints", "typical_latency_s",
    "latency_adjust", "deadline_s", "price_per_second_usd", "audio", "sunset", "results", "sources", "notes",
    "unconfirmed",
}  # fmt: skip
_PROVIDER_HANDLED = {"name", "title", "base_url", "base_url_env", "api_key_env", "auth", "path_prefix", "docs", "note"}
_JSON_TYPE = {"string": "string", "int": "integer", "number": "number", "seconds_suffix": 'string with an "s" suffix'}
_AUTH = {
    "bearer": "`Authorization: Bearer <API key>`",
    "x-goog-api-key": "`x-goog-api-key: <API key>`",
    "google-oauth": "`Authorization: Bearer <OAuth access token>`",
    "key": "`Authorization: Key <API key>`",
    "kling-jwt": "`Authorization: Bearer <JWT>` (HS256, iss = the access key, signed with the secret key, 30 min)",
}


@dataclass
class Section:
    title: str
    lines: list[str] = field(default_factory=list)


def code(value: Any) -> str:
    return f"`{value}`"


def human_bytes(n: int) -> str:
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{n} bytes"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def duration_line(spec: ModelSpec) -> str:
    d = spec.duration
    if d.field is None:
        text = f"no duration parameter: {d.describe()}"
    elif d.field == "model":
        text = f"no field of its own, carried by the model name ({code('model')}); allowed {d.describe()}"
    else:
        sample = d.default if d.default is not None else (d.candidates() or [8])[0]
        example = json.dumps(d.encode(sample), ensure_ascii=False)
        text = (
            f"{code(d.field)} as a JSON {_JSON_TYPE[d.wire_type]} (e.g. {code(f'{d.field}: {example}')}); "
            f"allowed {d.describe()}"
        )
        if d.default is not None:
            text += f"; default {_num(d.default)} s"
    return f"Duration: {text}{'. ' + d.note if d.note else ''}"


def choice_line(label: str, choice: ChoiceSpec) -> str:
    if not choice.supported:
        return f"{label}: no parameter{'. ' + choice.note if choice.note else ''}"
    assert choice.field is not None
    values = ", ".join(code(v) for v in choice.values)
    default = f"; default {code(choice.default)}" if choice.default else ""
    note = f". {choice.note}" if choice.note else ""
    # Without the dialect the wire encoding is unknown here (a ratio may travel as a size or a model name).
    return f"{label}: one of {values}, carried by {code(choice.field)}{default}{note}"


def option_lines(spec: ModelSpec, options_model: type[BaseModel] | None) -> list[str]:
    out = []
    for name in spec.options:
        info = options_model.model_fields.get(name) if options_model else None
        desc = f": {info.description}" if info and info.description else ""
        out.append(f"{code(name)}{desc}")
    return out


def parameters(
    spec: ModelSpec, options_model: type[BaseModel] | None = None, wire: Mapping[str, str] | None = None
) -> Section:
    """``wire``: concept -> the line read from the dialect's real create body (``providers.wire_facts``); it
    replaces the catalog's own line for that concept, which cannot show how a value is encoded."""
    s = Section("1. Parameters: duration, aspect ratio, size, resolution")
    wire = wire or {}
    d = spec.duration
    if "duration" in wire:
        default = f"; default {_num(d.default)} s" if d.default is not None else ""
        s.lines.append(f"{wire['duration']}; allowed {d.describe()}{default}{'. ' + d.note if d.note else ''}")
    else:
        s.lines.append(duration_line(spec))
    for concept, label in (("aspect_ratio", "Aspect ratio"), ("size", "Size"), ("resolution", "Resolution")):
        choice: ChoiceSpec = getattr(spec, concept)
        if concept in wire:
            default = f"; default {code(choice.default)}" if choice.default else ""
            s.lines.append(f"{wire[concept]}{default}{'. ' + choice.note if choice.note else ''}")
        else:
            s.lines.append(choice_line(label, choice))
    if spec.hd.supported:
        ignored = ", ".join(_num(d) for d in spec.hd.ignored_at_durations)
        extra = f"; no effect at {ignored} s" if ignored else ""
        note = f"{extra}{'. ' + spec.hd.note if spec.hd.note else ''}"
        s.lines.append(f"{wire['hd']}{note}" if "hd" in wire else f"HD: {code(spec.hd.field)} (boolean){note}")
    if spec.modes:
        s.lines.append(f"Modes: {', '.join(spec.modes)}")
    if spec.storyboard:
        s.lines.append("Storyboard: yes (`shots`: a scene and a duration per shot; how they travel is in the notes)")
    if spec.audio is not None:
        s.lines.append(f"Audio: {'yes' if spec.audio else 'no'}")
    for c in spec.constraints:
        when = ", ".join(f"{k} in {v}" for k, v in c.when.items())
        need = ", ".join(f"{k} in {v}" for k, v in c.require.items())
        s.lines.append(f"Rule: when {when}, {need}: {c.message}")
    opts = option_lines(spec, options_model)
    if opts:
        s.lines.append("Options (`--option KEY=VALUE` / `options={...}`): " + "; ".join(opts))
    return s


def images(spec: ModelSpec) -> Section:
    i = spec.images
    s = Section("2. Reference images")
    if not i.supported:
        s.lines.append("None: this model takes no images.")
        return s
    count = f"{i.min_count} to {i.max_count}" if i.min_count != i.max_count else str(i.max_count)
    s.lines.append(f"Field {code(i.field or '?')}: {count} image(s); roles {', '.join(r.value for r in i.roles)}")
    transports = ", ".join(i.transports) or "none documented"
    b64 = ""
    if {"base64", "data_uri", "inline"} & set(i.transports):
        b64 = (
            "; base64 sent as a data URI (`data:image/png;base64,...`)"
            if i.base64_form == "data_uri"
            else ("; base64 sent raw (no data: prefix)")
        )
    s.lines.append(f"Transport: {transports}{b64}")
    if "url" not in i.transports and {"base64", "data_uri", "multipart", "inline"} & set(i.transports):
        s.lines.append("URLs you pass are downloaded by vidgate (SSRF-guarded) and sent as bytes.")
    limits = [f"formats {', '.join(i.formats)}"]
    if i.max_bytes is not None:
        limits.append(f"at most {human_bytes(i.max_bytes)} each")
    if i.max_pixels is not None:
        limits.append(f"at most {i.max_pixels:,} pixels")
    if i.min_side is not None:
        limits.append(f"each side at least {i.min_side} px")
    if i.min_aspect is not None or i.max_aspect is not None:
        low = _num(i.min_aspect) if i.min_aspect is not None else "0"
        high = _num(i.max_aspect) if i.max_aspect is not None else "any"
        limits.append(f"width/height from {low} to {high}")
    if i.must_match_size:
        limits.append("must match the requested size")
    s.lines.append("Limits: " + "; ".join(limits))
    if i.note:
        s.lines.append(i.note)
    return s


def prompt(spec: ModelSpec) -> Section:
    p = spec.prompt
    s = Section("3. Prompt limits and content rules")
    limit = []
    if p.max_chars is not None:
        limit.append(f"at most {p.max_chars:,} characters")
    if p.max_tokens is not None:
        limit.append(f"at most {p.max_tokens:,} tokens")
    s.lines.append(f"Length: {', '.join(limit) or 'no documented limit'}; {'required' if p.required else 'optional'}")
    s.lines.extend(p.rules)
    if p.note:
        s.lines.append(p.note)
    return s


def results(spec: ModelSpec) -> Section:
    r = spec.results
    s = Section("4. Results and errors")
    s.lines.append(f"Delivery: {', '.join(r.delivery)}; typical latency about {_num(spec.typical_latency_s)} s")
    if r.status_values:
        s.lines.append("Statuses: " + ", ".join(code(v) for v in r.status_values))
    if r.where:
        s.lines.append(f"Where the video is: {r.where}")
    s.lines.append(f"URL lifetime: {r.url_lifetime or 'not documented'}")
    s.lines.append(f"Download needs auth: {'yes' if r.download_auth else 'no'}")
    s.lines.extend(f"Error shape: {e}" for e in r.error_shapes)
    if r.note:
        s.lines.append(r.note)
    return s


def characters(spec: ModelSpec) -> Section:
    c = spec.characters
    s = Section("5. Characters (cameo)")
    s.lines.append(("Supported: " + c.how) if c.supported else (c.how or "Not supported."))
    return s


def sunset(spec: ModelSpec) -> Section:
    s = Section("Sunset")
    if spec.sunset is None:
        s.lines.append("None announced.")
        return s
    x = spec.sunset
    kind = "model retired (refused without an override)" if x.kind == "retired" else "upstream retired (warned)"
    s.lines.append(f"{x.date.isoformat()}: {kind}. {x.note}".strip())
    if x.source:
        s.lines.append(f"Source: {x.source}")
    return s


def other_facts(spec: ModelSpec) -> Section | None:
    s = Section("Other facts")
    for name, info in ModelSpec.model_fields.items():
        if name in _HANDLED:
            continue
        value = getattr(spec, name)
        default = info.get_default(call_default_factory=True)
        if value == default:
            continue
        shown = value.model_dump(mode="json", exclude_defaults=True) if isinstance(value, BaseModel) else value
        s.lines.append(f"{name}: {json.dumps(shown, ensure_ascii=False, default=str)}")
    return s if s.lines else None


def model_sections(
    spec: ModelSpec, options_model: type[BaseModel] | None = None, wire: Mapping[str, str] | None = None
) -> list[Section]:
    out = [parameters(spec, options_model, wire), images(spec), prompt(spec), results(spec), characters(spec)]
    out.append(sunset(spec))
    extra = other_facts(spec)
    if extra:
        out.append(extra)
    if spec.notes:
        out.append(Section("Choices where sources disagree", list(spec.notes)))
    if spec.unconfirmed:
        out.append(Section("Unconfirmed (third-party or unverified sources only)", list(spec.unconfirmed)))
    out.append(Section("Sources", list(spec.sources)))
    return out


def provider_lines(p: ProviderSpec) -> list[str]:
    prefix = f" + path prefix {code('/' + p.path_prefix.strip('/'))}" if p.path_prefix else ""
    lines = [
        f"Base URL: {code(p.base_url)}{prefix} (override with {code(p.base_url_env)})",
        f"API key: {code(p.api_key_env)}, sent as {_AUTH.get(p.auth, p.auth)}",
    ]
    for name, info in ProviderSpec.model_fields.items():
        if name in _PROVIDER_HANDLED:
            continue
        value = getattr(p, name)
        if value == info.get_default(call_default_factory=True):
            continue
        shown = (
            {k: (v.model_dump(mode="json") if isinstance(v, BaseModel) else v) for k, v in value.items()}
            if (isinstance(value, dict))
            else value
        )
        lines.append(f"{name}: {json.dumps(shown, ensure_ascii=False, default=str)}")
    if p.docs:
        lines.append(f"Docs: {p.docs}")
    if p.note:
        lines.append(p.note)
    return lines


def answers_json(
    spec: ModelSpec, options_model: type[BaseModel] | None = None, wire: Mapping[str, str] | None = None
) -> dict[str, list[str]]:
    return {s.title: s.lines for s in model_sections(spec, options_model, wire)}
