"""Generate ``docs/providers.md``: every provider and model in the catalog, answering the five questions.

``vidgate docs --write`` (or ``make docs``) regenerates it; a test fails when the file is out of date.
The output depends only on the catalog data, the dialects' option schemas and the create requests the dialects
build for sample requests (``providers.wire_facts``: how each value really travels); no dates, no environment.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from vidgate.catalog import Catalog, ModelSpec, load_catalog
from vidgate.catalog.explain import code, human_bytes, model_sections, provider_lines
from vidgate.providers import DIALECTS
from vidgate.providers.wire_facts import WireConcept, parameter_lines, wire_concepts

DOC_PATH = Path("docs") / "providers.md"
REGENERATE = "vidgate docs --write"

_QUESTIONS = """\
Each model below answers the five questions of the project's brief, straight from the capability catalog
(`src/vidgate/catalog/data/*.toml`):

1. **Parameters**: how duration, aspect ratio, size, resolution and HD are passed. Each line names the field
   of the create request that carries the value, its JSON type, and what is sent for each allowed value
   (`16:9 -> "1280x720"`). These lines are read from the request vidgate's dialect really builds for a
   sample request, not typed by hand; a field that is not a field of its own (the chat route's model-name
   suffixes) shows the model name that is sent.
2. **Reference images**: URL or base64 (and which base64 form), how many, which roles, formats, byte and
   pixel limits.
3. **Prompt**: maximum length and content rules.
4. **Results and errors**: sync, poll or webhook; where the video is; how long the link lives; whether the
   download needs auth; the error shapes.
5. **Characters (cameo)**: where the feature exists and how it is called.

Plus the sunset status, the per-model options, the choices made where sources disagree, and the sources.
`vidgate models --provider P --model M` prints the same answers in the terminal.
"""


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _wire_values(wc: WireConcept) -> str:
    values: list[str] = []
    for sample in wc.samples:
        for path in wc.paths:
            if path in sample.leaves:
                shown = code(json.dumps(sample.leaves[path], ensure_ascii=False))
                if shown not in values:
                    values.append(shown)
    return ", ".join(values)


def _carriers(wc: WireConcept) -> str:
    return " + ".join(f"{code(p)} {wc.type_of(p)}" for p in wc.paths)


def _duration_cell(m: ModelSpec, wire: dict[str, WireConcept]) -> str:
    d = m.duration
    wc = wire.get("duration")
    if wc is not None and wc.paths:
        values = _wire_values(wc)
        return f"{_carriers(wc)}: {values if values.count(',') < 6 else d.describe()}"
    if d.field is None:
        return d.describe()
    return f"{code(d.field)} {d.wire_type}: {d.describe()}"


def _shape_cell(m: ModelSpec, wire: dict[str, WireConcept]) -> str:
    parts = []
    for concept in ("aspect_ratio", "size", "resolution", "hd"):
        wc = wire.get(concept)
        label = concept.replace("_", " ")
        if wc is not None and wc.paths:
            parts.append(f"{label} -> {_carriers(wc)}: {_wire_values(wc)}")
        elif concept != "hd" and getattr(m, concept).supported:
            choice = getattr(m, concept)
            parts.append(f"{label} -> {code(choice.field)}: {', '.join(choice.values)}")
    return "; ".join(parts) or "none"


def _images_cell(m: ModelSpec) -> str:
    i = m.images
    if not i.supported:
        return "none"
    size = f", <= {human_bytes(i.max_bytes)}" if i.max_bytes else ""
    return f"<= {i.max_count} ({'/'.join(r.value for r in i.roles)}; {', '.join(i.transports)}{size})"


def _prompt_cell(m: ModelSpec) -> str:
    p = m.prompt
    if p.max_chars is not None:
        return f"{p.max_chars:,} chars"
    if p.max_tokens is not None:
        return f"{p.max_tokens:,} tokens"
    return "not documented"


def _sunset_cell(m: ModelSpec) -> str:
    return f"{m.sunset.kind} {m.sunset.date.isoformat()}" if m.sunset else "-"


def render(catalog: Catalog | None = None) -> str:
    catalog = catalog or load_catalog()
    out = [
        "# Providers and models",
        "",
        f"<!-- Generated from the catalog by `{REGENERATE}`. Do not edit by hand. -->",
        "",
        _QUESTIONS,
        "## Providers",
        "",
        "| provider | title | dialects | models |",
        "|---|---|---|---|",
    ]
    for name, p in catalog.providers.items():
        models = catalog.by_provider(name)
        dialects = sorted({m.dialect for m in models})
        out.append(f"| [{code(name)}](#{_anchor('provider ' + name)}) | {_cell(p.title)} | "
                   f"{', '.join(dialects) or '-'} | {len(models)} |")  # fmt: skip
    for name, p in catalog.providers.items():
        models = catalog.by_provider(name)
        out += ["", f'<a id="{_anchor("provider " + name)}"></a>', "", f"## Provider `{name}`: {p.title}", ""]
        out += [f"- {line}" for line in provider_lines(p)]
        if not models:
            out += ["", "No models listed yet."]
            continue
        out += [
            "",
            "| model | duration | aspect ratio / size / resolution | images | prompt | delivery | sunset |",
            "|---|---|---|---|---|---|---|",
        ]
        for m in models:
            wire = wire_concepts(m, p)
            out.append(
                f"| [{code(m.key)}](#{_anchor('model ' + m.key)}) | {_cell(_duration_cell(m, wire))} | "
                f"{_cell(_shape_cell(m, wire))} | {_cell(_images_cell(m))} | {_prompt_cell(m)} | "
                f"{', '.join(m.results.delivery)} | {_sunset_cell(m)} |"
            )
        for m in models:
            out += ["", f'<a id="{_anchor("model " + m.key)}"></a>', "", f"### `{m.key}`", ""]
            out.append(f"Wire model id {code(m.model)}, dialect {code(m.dialect)}. {m.summary}".rstrip())
            options = DIALECTS[m.dialect].Options if m.dialect in DIALECTS else None
            wire_lines = parameter_lines(m, p)
            for section in model_sections(m, options, wire_lines):
                out += ["", f"**{section.title}**", ""]
                out += [f"- {_line(line)}" for line in section.lines]
    return "\n".join(out).rstrip() + "\n"


def _line(text: str) -> str:
    return text.replace("\n", " ")


def is_current(path: Path, catalog: Catalog | None = None) -> bool:
    return path.exists() and path.read_text(encoding="utf-8") == render(catalog)


def write(path: Path = DOC_PATH, catalog: Catalog | None = None) -> bool:
    """Write the file; True when it changed."""
    text = render(catalog)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True
