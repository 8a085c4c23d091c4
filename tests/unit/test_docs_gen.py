"""The five questions answered from the catalog: docs/providers.md is current, and `vidgate models` shows them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from vidgate.catalog import check, load_catalog
from vidgate.catalog.explain import model_sections
from vidgate.catalog.validate import assign_roles
from vidgate.cli import app
from vidgate.docs_gen import REGENERATE, render
from vidgate.net.steps import Stream
from vidgate.providers import DIALECTS, Connection, Prepared
from vidgate.types import VideoRequest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "providers.md"
QUESTIONS = [
    "1. Parameters: duration, aspect ratio, size, resolution",
    "2. Reference images",
    "3. Prompt limits and content rules",
    "4. Results and errors",
    "5. Characters (cameo)",
    "Sunset",
    "Sources",
]
runner = CliRunner()


def test_providers_doc_is_current() -> None:
    expected = render()
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert current == expected, (
        f"docs/providers.md is out of date with the catalog: run `{REGENERATE}` (or `make docs`) "
        "from the repository root and commit the result"
    )


def test_every_provider_and_model_is_in_the_doc() -> None:
    text = render()
    catalog = load_catalog()
    for name in catalog.providers:
        assert f"## Provider `{name}`" in text
    for key in catalog.models:
        assert f"### `{key}`" in text


def test_every_model_answers_every_question() -> None:
    for spec in load_catalog().models.values():
        sections = {s.title: s.lines for s in model_sections(spec)}
        for q in QUESTIONS:
            assert sections.get(q), f"{spec.key}: no answer to {q!r}"
        assert sections[QUESTIONS[0]][0].startswith("Duration: ")


def test_duration_answers_name_the_field_and_json_type() -> None:
    catalog = load_catalog()
    zhipu = model_sections(catalog.resolve("zhipu/cogvideox-3"))[0].lines[0]
    assert "`duration` as a JSON integer (e.g. `duration: 5`)" in zhipu and "5, 10 s" in zhipu  # e.g. = the default
    relay = model_sections(catalog.resolve("relay/sora-2"))[0].lines[0]
    assert '`duration` as a JSON string (e.g. `duration: "10"`)' in relay
    chat = model_sections(catalog.resolve("relay-chat/sora_video2"))[0].lines[0]
    assert "carried by the model name" in chat and "as a JSON" not in chat  # never `model: "10"`


def test_headline_lines_show_the_wire_encoding() -> None:
    """The lines the docs print for question 1 say what goes on the wire, not the catalog's field label."""
    text = render()
    for line in (
        '- Duration: `duration` (string): 10 s -> `"10"`',
        "- Duration: `duration` (integer): 5 s -> `5`; 10 s -> `10`",
        '- Aspect ratio: `size` (string, multipart form field): 16:9 -> `"1280x720"`; 9:16 -> `"720x1280"`',
        '- Duration: `seconds` (string, multipart form field): 4 s -> `"4"`; 8 s -> `"8"`; 12 s -> `"12"`',
        '15 s -> `"sora_video2-portrait-15s"`',
        '- HD: `model` (string): hd=true -> `"sora_video2-portrait-hd"`',
        "- Duration: `parameters.durationSeconds` (integer): 4 s -> `4`",
        '- Duration: `response_format.duration` (string): 3 s -> `"3s"`',
    ):
        assert line in text, line
    for wrong in ('`model: "10"`', "`model` (boolean)", "`size` (boolean)", "`size` (string), one of `16:9`"):
        assert wrong not in text


# ---------------------------------------------------------------- every field line checked against the wire

LABELS = {
    "Duration": "duration",
    "Aspect ratio": "aspect_ratio",
    "Size": "size",
    "Resolution": "resolution",
    "HD": "hd",
}
FIELD_LINE = re.compile(
    r"^- (?P<label>Duration|Aspect ratio|Size|Resolution|HD): "
    r"(?P<fields>`[^`]+` \([a-z]+[^)]*\)(?: and `[^`]+` \([a-z]+[^)]*\))*): (?P<rest>.*)$"
)
CARRIER = re.compile(r"`(?P<path>[^`]+)` \((?P<type>[a-z]+)(?P<multipart>, multipart form field)?\)")
PAIR = re.compile(r"^(?P<asked>.+?) -> (?P<sent>.+)$")
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
SAMPLE_IMAGE = "https://images.example/cat.png"


def field_lines(text: str) -> list[tuple[str, str, re.Match[str]]]:
    """(model key, label, match) for every field line of question 1 in the doc."""
    out, key = [], ""
    for line in text.splitlines():
        if line.startswith("### `"):
            key = line[5:-1]
        elif (m := FIELD_LINE.match(line)) is not None:
            out.append((key, m["label"], m))
    return out


def built_body(key: str, **fields: Any) -> tuple[dict[str, Any], bool]:
    """The create body the model's dialect builds for a prompt plus ``fields`` (decoded; multipart as text)."""
    catalog = load_catalog()
    spec = catalog.resolve(key)
    dialect = DIALECTS[spec.dialect]
    sample: dict[str, Any] = {"prompt": "a cat", "model": key}
    if "text" not in spec.modes:
        sample["images"] = [SAMPLE_IMAGE] * (2 if spec.modes == ["first_last"] else 1)
    request = VideoRequest(**{**sample, **fields})
    report = check(request, spec, options_model=dialect.Options, allow_retired=True)
    assert report.ok, (key, fields, [p.explain() for p in report.problems])
    conn = Connection(catalog.providers[spec.provider], "https://h.example", "sk",
                      {"project": "p", "location": "l", "secret_key": "kling-secret-key-" + "x" * 16})  # fmt: skip
    step = next(dialect.submit(Prepared(request, spec, report.images, assign_roles(report.images, spec), "k"), conn))
    http = step.request if isinstance(step, Stream) else step
    ctype = http.headers.get("content-type", "")
    if not ctype.startswith("multipart/"):
        return json.loads(http.content), False
    boundary = ctype.split("boundary=")[1].encode()
    form: dict[str, Any] = {}
    for part in http.content.split(b"--" + boundary)[1:-1]:
        head, _, value = part.strip(b"\r\n").partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]+)"', head)
        assert name is not None
        form[name[1].decode()] = value.decode("utf-8", "replace")
    return form, True


def at(body: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            body = body[int(part[1:-1])]
        else:
            if not isinstance(body, dict) or part not in body:
                return MISSING
            body = body[part]
    return body


MISSING = object()


def asked_fields(concept: str, asked: str) -> dict[str, Any]:
    """``15 s with 16:9`` -> {"duration": 15, "aspect_ratio": "16:9"}; ``4 s with option group=official``."""
    head, _, extra = asked.partition(" with ")
    if concept == "hd":
        assert head == "hd=true"
        fields: dict[str, Any] = {"hd": True}
    elif concept == "duration":
        fields = {"duration": float(head.removesuffix(" s"))}
    else:
        fields = {concept: head}
    for item in filter(None, extra.split(", ")):
        if item.startswith("option "):
            name, _, value = item.removeprefix("option ").partition("=")
            fields.setdefault("options", {})[name] = value
        elif item == "hd=true":
            fields["hd"] = True
        elif item.endswith(" s"):
            fields["duration"] = float(item[:-2])
        elif "x" in item and ":" not in item:
            fields["size"] = item
        elif item.endswith(("p", "k")):
            fields["resolution"] = item
        else:
            fields["aspect_ratio"] = item
    return fields


def test_every_field_line_names_a_real_field_of_the_create_body_with_its_json_type() -> None:
    """Each `Field` line of question 1 is checked against the body the dialect really builds: the field exists,
    its JSON type is the documented one, and every documented example value is the value sent."""
    text = render()
    lines = field_lines(text)
    assert len(lines) > 50
    loose = [x for x in text.splitlines() if re.match(r"- [A-Za-z ]+: `", x) and x.split(":")[0][2:] in LABELS]
    assert len(loose) == len(lines), [x for x in loose if not FIELD_LINE.match(x)]  # every field line is checkable
    checked = 0
    for key, label, m in lines:
        concept = LABELS[label]
        carriers = [(c["path"], c["type"], bool(c["multipart"])) for c in CARRIER.finditer(m["fields"])]
        pairs, _, unasked = m["rest"].partition("; when not asked: ")
        assert unasked, (key, label, "no 'when not asked' part")
        bare, _ = built_body(key)
        sent_unasked = unasked.split(";")[0].split(". ")[0].split(" + ")
        for (path, _, _), shown in zip(carriers, sent_unasked, strict=True):
            value = at(bare, path)
            assert shown == ("not sent" if value is MISSING else f"`{json.dumps(value, ensure_ascii=False)}`"), (
                key, label, path, shown, value,
            )  # fmt: skip
        for pair in pairs.split("; "):
            if pair == "...":
                continue
            pm = PAIR.match(pair)
            assert pm is not None, (key, label, pair)
            body, multipart = built_body(key, **asked_fields(concept, pm["asked"]))
            for (path, json_type, is_form), shown in zip(carriers, pm["sent"].split(" + "), strict=True):
                value = at(body, path)
                assert value is not MISSING, f"{key}: {label} names `{path}`, which the create body lacks: {body}"
                assert JSON_TYPES[type(value)] == json_type, (key, label, path, value, json_type)
                assert is_form == multipart, (key, label, path)
                assert shown == f"`{json.dumps(value, ensure_ascii=False)}`", (key, label, pair, value)
                checked += 1
    assert checked > 200


def test_every_supported_parameter_has_a_field_line_naming_the_catalog_field() -> None:
    text = render()
    documented: dict[tuple[str, str], list[str]] = {}
    for key, label, m in field_lines(text):
        documented[(key, LABELS[label])] = [c["path"] for c in CARRIER.finditer(m["fields"])]
    for spec in load_catalog().models.values():
        if spec.dialect not in DIALECTS:
            continue
        for concept in LABELS.values():
            declared = getattr(spec, concept).field
            supported = getattr(spec, concept).supported if concept != "duration" else declared is not None
            if supported:
                paths = documented.get((spec.key, concept))
                assert paths, f"{spec.key}: no field line for {concept}"
                assert declared in paths, f"{spec.key}: catalog says {concept} travels in {declared}, dialect: {paths}"


def test_models_command_answers_for_one_model() -> None:
    result = runner.invoke(app, ["models", "--provider", "zai", "--model", "vidu2-reference", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["key"] == "zai/vidu2-reference"
    assert set(QUESTIONS) <= set(data["answers"])
    assert any("1 to 3 image(s)" in line for line in data["answers"]["2. Reference images"])
    text = runner.invoke(app, ["models", "-p", "zhipu", "-m", "cogvideox-3"])
    assert text.exit_code == 0 and "at most 512 characters" in text.stdout and "api/paas/v4" in text.stdout


def test_models_command_lists_one_provider() -> None:
    result = runner.invoke(app, ["models", "--provider", "zai", "--json"])
    assert result.exit_code == 0
    assert {m["provider"] for m in json.loads(result.stdout)} == {"zai"}
    bad = runner.invoke(app, ["models", "--provider", "nope"])
    assert bad.exit_code == 2 and "Known:" in bad.output
    unknown = runner.invoke(app, ["models", "--model", "cogvidex-3", "--json"])
    assert unknown.exit_code == 2 and "cogvideox-3" in unknown.stdout


def test_docs_command_writes_and_checks(tmp_path: Path) -> None:
    target = tmp_path / "providers.md"
    stale = runner.invoke(app, ["docs", "--check", "--path", str(target)])
    assert stale.exit_code == 1 and REGENERATE in stale.output
    assert runner.invoke(app, ["docs", "--write", "--path", str(target)]).exit_code == 0
    assert runner.invoke(app, ["docs", "--check", "--path", str(target)]).exit_code == 0
    assert target.read_text(encoding="utf-8") == render()
