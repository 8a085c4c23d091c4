"""Load the capability catalog shipped in ``catalog/data/*.toml`` and look models up by name."""

from __future__ import annotations

import difflib
import tomllib
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

from vidgate.catalog.schema import ModelSpec, ProviderSpec
from vidgate.errors import UnknownModelError

SUNSET_WARNING_DAYS = 30


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _resolve(entry: dict[str, Any], templates: dict[str, dict[str, Any]], seen: tuple[str, ...] = ()) -> dict[str, Any]:
    parent = entry.get("extends")
    if parent is None:
        return dict(entry)
    if parent in seen or parent not in templates:
        raise ValueError(f"catalog: bad template chain {(*seen, parent)}")
    base = _resolve(templates[parent], templates, (*seen, parent))
    merged = _deep_merge(base, entry)
    merged.pop("extends", None)
    return merged


class Catalog:
    """Every known provider and model. Bare model names resolve to the first provider that has them."""

    def __init__(self, providers: list[ProviderSpec], models: list[ModelSpec]) -> None:
        self.providers: dict[str, ProviderSpec] = {p.name: p for p in providers}
        self.models: dict[str, ModelSpec] = {}
        for m in models:
            if m.key in self.models:
                raise ValueError(f"catalog: duplicate model key {m.key}")
            if m.provider not in self.providers:
                raise ValueError(f"catalog: {m.key} names unknown provider {m.provider}")
            self.models[m.key] = m

    @classmethod
    def from_documents(cls, docs: list[dict[str, Any]]) -> Catalog:
        providers: dict[str, dict[str, Any]] = {}
        templates: dict[str, dict[str, Any]] = {}
        raw_models: list[dict[str, Any]] = []
        for doc in docs:
            providers.update(doc.get("providers", {}))
            templates.update(doc.get("templates", {}))
            raw_models.extend(doc.get("models", []))
        provider_specs = [ProviderSpec(name=name, **body) for name, body in providers.items()]
        model_specs = [ModelSpec.model_validate(_resolve(m, templates)) for m in raw_models]
        return cls(provider_specs, model_specs)

    def resolve(self, name: str, provider: str | None = None) -> ModelSpec:
        """Find a model by ``provider/model`` key, or by bare wire id (first provider in catalog order)."""
        if provider and "/" not in name:
            name = f"{provider}/{name}"
        if name in self.models:
            return self.models[name]
        if "/" not in name:
            for spec in self.models.values():
                if spec.model == name:
                    return spec
        raise UnknownModelError(name, self.suggest(name), list(self.models))

    def suggest(self, name: str, n: int = 3) -> list[str]:
        names = list(self.models) + sorted({m.model for m in self.models.values()})
        bare = name.split("/")[-1]
        hits = difflib.get_close_matches(name, names, n=n, cutoff=0.6)
        hits += [h for h in difflib.get_close_matches(bare, names, n=n, cutoff=0.6) if h not in hits]
        return hits[:n]

    def provider_of(self, spec: ModelSpec) -> ProviderSpec:
        return self.providers[spec.provider]

    def by_provider(self, provider: str) -> list[ModelSpec]:
        return [m for m in self.models.values() if m.provider == provider]


def sunset_warning(spec: ModelSpec, today: date | None = None) -> str | None:
    """A warning when the model (or the vendor behind its route) is past or within 30 days of its sunset."""
    if spec.sunset is None:
        return None
    today = today or date.today()
    s = spec.sunset
    if today >= s.date:
        what = "was retired" if s.kind == "retired" else "is behind an upstream that was retired"
        return f"{spec.key} {what} on {s.date.isoformat()}: {s.note}"
    if s.date - today <= timedelta(days=SUNSET_WARNING_DAYS):
        return f"{spec.key} is scheduled to retire on {s.date.isoformat()} ({(s.date - today).days} days): {s.note}"
    return None


def is_retired(spec: ModelSpec, today: date | None = None) -> bool:
    today = today or date.today()
    return spec.sunset is not None and spec.sunset.kind == "retired" and today >= spec.sunset.date


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    data_dir = resources.files("vidgate.catalog") / "data"
    docs = []
    for item in sorted(data_dir.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".toml"):
            docs.append(tomllib.loads(item.read_text(encoding="utf-8")))
    return Catalog.from_documents(docs)
