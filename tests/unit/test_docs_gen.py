"""The five questions answered from the catalog: docs/providers.md is current, and `vidgate models` shows them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from vidgate.catalog import load_catalog
from vidgate.catalog.explain import model_sections
from vidgate.cli import app
from vidgate.docs_gen import REGENERATE, render

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
