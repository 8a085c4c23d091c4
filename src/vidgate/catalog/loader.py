"""Load the capability catalog and look models up by name.

The catalog is the packaged data (``catalog/data/*.toml``) followed by every ``*.toml`` in the user catalog
overlay directory, ``$VIDGATE_HOME/catalog/`` (``~/.vidgate/catalog/`` by default), in name order. An
overlay file has the same schema as the packaged files (``[providers.<name>]``, ``[templates.<name>]``,
``[[models]]``, optionally ``[overlay]`` with ``source`` and ``synced_at``) and may use the packaged
templates (``extends``); a model whose key already exists replaces it. So a relay or a model is added by
dropping a file there (``vidgate catalog sync openrouter`` writes one), with no code change.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from vidgate.catalog.schema import ModelSpec, ProviderSpec
from vidgate.errors import ConfigurationError, UnknownModelError

SUNSET_WARNING_DAYS = 30
OVERLAY_DIR = "catalog"
OVERLAY_TABLES = frozenset({"providers", "templates", "models", "overlay"})


class CatalogOverlayError(ConfigurationError):
    """A user catalog overlay file that cannot be read: the message names the file and the field."""


def overlay_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$VIDGATE_HOME/catalog`` (``~/.vidgate/catalog`` by default): where user catalog overlays live."""
    home = (os.environ if env is None else env).get("VIDGATE_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".vidgate") / OVERLAY_DIR


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
    def from_documents(cls, docs: list[dict[str, Any]], overlays: Sequence[tuple[str, dict[str, Any]]] = ()) -> Catalog:
        """The packaged ``docs``, then each ``(file name, document)`` overlay (its models replace same keys)."""
        providers: dict[str, dict[str, Any]] = {}
        templates: dict[str, dict[str, Any]] = {}
        raw_models: list[dict[str, Any]] = []
        for doc in docs:
            providers.update(doc.get("providers", {}))
            templates.update(doc.get("templates", {}))
            raw_models.extend(doc.get("models", []))
        provider_specs = {name: ProviderSpec(name=name, **body) for name, body in providers.items()}
        model_specs: dict[str, ModelSpec] = {}
        for spec in (ModelSpec.model_validate(_resolve(m, templates)) for m in raw_models):
            if spec.key in model_specs:
                raise ValueError(f"catalog: duplicate model key {spec.key}")
            model_specs[spec.key] = spec
        for name, doc in overlays:
            _apply_overlay(name, doc, provider_specs, templates, model_specs)
        return cls(list(provider_specs.values()), list(model_specs.values()))

    def resolve(self, name: str, provider: str | None = None) -> ModelSpec:
        """Find a model by ``provider/model`` key, or by bare wire id (first provider in catalog order)."""
        if provider and not name.startswith(f"{provider}/") and f"{provider}/{name}" in self.models:
            name = f"{provider}/{name}"  # aggregator ids carry slashes themselves (owner/name, fal app paths)
        elif provider and "/" not in name:
            name = f"{provider}/{name}"
        if name in self.models:
            return self.models[name]
        # a bare wire id, with or without slashes; an aggregator id whose owner is also a provider's name
        # (Replicate's minimax/video-01 beside provider minimax) is found when no provider/model key matched
        if "/" in name or name.split("/", 1)[0] not in self.providers:
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


def _where(exc: PydanticValidationError) -> str:
    parts = []
    for e in exc.errors()[:3]:
        field = ".".join(str(p) for p in e["loc"]) or "(entry)"
        parts.append(f"field {field}: {e['msg']}")
    return "; ".join(parts)


# The wire protocols vidgate speaks, registered by ``vidgate.providers`` when it is imported (the catalog sits
# below the dialects and cannot import them): an overlay naming another is refused when it is loaded.
KNOWN_DIALECTS: set[str] = set()


def register_dialects(names: Iterable[str]) -> None:
    KNOWN_DIALECTS.update(names)
    _load.cache_clear()  # a catalog read before the registration is checked again


def _apply_overlay(
    name: str,
    doc: dict[str, Any],
    providers: dict[str, ProviderSpec],
    templates: dict[str, dict[str, Any]],
    models: dict[str, ModelSpec],
) -> None:
    unknown = sorted(set(doc) - OVERLAY_TABLES)
    if unknown:
        raise CatalogOverlayError(
            f"catalog overlay {name}: unknown top-level table(s) {unknown}; allowed: {sorted(OVERLAY_TABLES)}"
        )
    for pname, body in (doc.get("providers") or {}).items():
        try:
            providers[pname] = ProviderSpec(name=pname, **body)
        except (PydanticValidationError, TypeError) as exc:
            why = _where(exc) if isinstance(exc, PydanticValidationError) else str(exc)
            raise CatalogOverlayError(f"catalog overlay {name}: providers.{pname}: {why}") from None
    templates.update(doc.get("templates") or {})
    for i, raw in enumerate(doc.get("models") or []):
        label = f"models[{i}] ({raw.get('key', 'no key')})" if isinstance(raw, dict) else f"models[{i}]"
        try:
            spec = ModelSpec.model_validate(_resolve(raw, templates))
        except PydanticValidationError as exc:
            raise CatalogOverlayError(f"catalog overlay {name}: {label}: {_where(exc)}") from None
        except ValueError as exc:
            raise CatalogOverlayError(f"catalog overlay {name}: {label}: {exc}") from None
        if spec.provider not in providers:
            raise CatalogOverlayError(
                f"catalog overlay {name}: {label}: field provider: unknown provider {spec.provider!r}; "
                f"known: {', '.join(sorted(providers))} (or add [providers.{spec.provider}] to the file)"
            )
        if KNOWN_DIALECTS and spec.dialect not in KNOWN_DIALECTS:
            raise CatalogOverlayError(
                f"catalog overlay {name}: {label}: field dialect: {spec.dialect!r} is not a wire protocol vidgate "
                f"speaks; known: {', '.join(sorted(KNOWN_DIALECTS))}"
            )
        models.pop(spec.key, None)  # the overlay's entry replaces the packaged one
        models[spec.key] = spec


@lru_cache(maxsize=1)
def _packaged_docs() -> tuple[dict[str, Any], ...]:
    data_dir = resources.files("vidgate.catalog") / "data"
    docs = []
    for item in sorted(data_dir.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".toml"):
            docs.append(tomllib.loads(item.read_text(encoding="utf-8")))
    return tuple(docs)


def read_overlay(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogOverlayError(f"catalog overlay {path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogOverlayError(f"catalog overlay {path}: cannot be read: {exc}") from None


def load_catalog() -> Catalog:
    """The packaged catalog plus the overlays in ``overlay_dir()`` (re-read when a file there changes)."""
    directory = overlay_dir()
    files = sorted(directory.glob("*.toml")) if directory.is_dir() else []
    signature = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        signature.append((str(f), st.st_mtime_ns, st.st_size))
    return _load(tuple(signature))


@lru_cache(maxsize=8)
def _load(signature: tuple[tuple[str, int, int], ...]) -> Catalog:
    overlays = [(name, read_overlay(Path(name))) for name, _, _ in signature]
    return Catalog.from_documents(list(_packaged_docs()), overlays)
