"""Account-level operations ``Client`` and ``AsyncClient`` share: characters and model discovery.

Everything here is checking and planning (no network I/O): each ``*_plan`` returns what the client needs
to drive a flow, or raises before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import ValidationError as PydanticValidationError

from vidgate.catalog import ModelSpec, Problem
from vidgate.characters import CharacterRegistry, CharacterRequest, apply_to_request
from vidgate.engine.jobs import apply_update
from vidgate.errors import ConfigurationError, ValidationError
from vidgate.mentions import find_mentions
from vidgate.providers import Connection, Dialect, JobUpdate, get_dialect
from vidgate.providers.remote_models import Discovery, RemoteModel, compare
from vidgate.types import Character, Job, VideoRequest

if TYPE_CHECKING:
    from vidgate.engine.core import Core


def progress_hook(core: Core, job: Job, on_progress: Callable[[Job], None] | None) -> Callable[[JobUpdate], None]:
    """Apply a flow's intermediate updates (a streaming submit) to the job as they come, and report them."""

    def hook(update: JobUpdate) -> None:
        current = core.record(apply_update(core.job(job.id), update, core.now()))
        if on_progress is not None:
            on_progress(current)

    return hook


def apply_characters(
    request: VideoRequest, spec: ModelSpec, env: Mapping[str, str]
) -> tuple[VideoRequest, list[Problem]]:
    """Fill the prompt template and resolve character names through the registry (models with characters)."""
    if not spec.characters.supported:
        return request, []
    texts = [request.prompt] + [s.scene for s in request.shots]
    if not request.characters and not any(find_mentions(t) for t in texts):
        return request, []
    return apply_to_request(request, CharacterRegistry.at_home(env))


@dataclass(frozen=True)
class CharacterPlan:
    request: CharacterRequest
    spec: ModelSpec
    dialect: Dialect
    connection: Connection


def character_plan(
    core: Core,
    *,
    url: str | None,
    from_task: str | Job | None,
    timestamps: str,
    name: str | None,
    model: str | None,
    provider: str | None,
) -> CharacterPlan:
    """Check a character request (every problem at once) and find where it goes. Raises before any I/O."""
    spec = _character_spec(core, model, provider)
    dialect = get_dialect(spec.dialect)
    problems: list[Problem] = []
    task_id = _task_id(core, from_task, problems)
    try:
        request = CharacterRequest(url=url, from_task=task_id, timestamps=timestamps, name=name)
    except PydanticValidationError as exc:
        raise ValidationError(
            [Problem(".".join(map(str, e["loc"])), e.get("input"), e["msg"]) for e in exc.errors()], spec.key
        ) from None
    problems += dialect.character_problems(request)
    if problems:
        raise ValidationError(problems, spec.key)
    CharacterRegistry.at_home(core.env).all()  # an unreadable registry fails now, not after paying for a character
    return CharacterPlan(request, spec, dialect, core.connection(spec))


def _character_spec(core: Core, model: str | None, provider: str | None) -> ModelSpec:
    if model is not None:
        spec = core.catalog.resolve(model, provider)
        if not spec.characters.supported:
            capable = [s.key for s in core.catalog.models.values() if s.characters.supported]
            raise ValidationError(
                [
                    Problem(
                        "model",
                        spec.key,
                        f"{spec.key} has no character feature",
                        allowed=", ".join(capable) or "none",
                        suggestion="pick a model whose `vidgate models` entry lists characters",
                    )
                ],
                spec.key,
            )
        return spec
    for spec in core.catalog.models.values():
        if spec.characters.supported and provider in (None, spec.provider):
            return spec
    raise ConfigurationError(
        f"No model of provider {provider!r} can create characters. Providers that can: "
        + ", ".join(sorted({s.provider for s in core.catalog.models.values() if s.characters.supported}))
    )


def _task_id(core: Core, from_task: str | Job | None, problems: list[Problem]) -> str | None:
    """A vidgate Job (or its id) becomes the provider's task id; any other string is sent as given."""
    if from_task is None:
        return None
    job = from_task if isinstance(from_task, Job) else _stored(core, from_task)
    if job is None:
        return str(from_task)
    if job.provider_task_id is None:
        problems.append(
            Problem(
                "from_task",
                job.id,
                "this vidgate job has no provider task id (it was never accepted by the provider)",
                allowed="a job that the provider accepted, or the provider's task id",
            )
        )
    return job.provider_task_id


def _stored(core: Core, job_id: str) -> Job | None:
    from vidgate.store import JobNotFoundError

    try:
        return core.store.get(job_id)
    except JobNotFoundError:
        return None


def remember(core: Core, character: Character) -> Character:
    return CharacterRegistry.at_home(core.env).add(character)


def characters(core: Core) -> list[Character]:
    return CharacterRegistry.at_home(core.env).all()


@dataclass(frozen=True)
class DiscoveryPlan:
    provider: str
    path: str
    scope: list[ModelSpec]
    dialect: Dialect
    connection: Connection


def discovery_plan(core: Core, provider: str | None) -> DiscoveryPlan:
    """The provider to ask (default: the first with a model list) and the catalog models on the same host."""
    catalog = core.catalog
    listing = [p for p in catalog.providers.values() if p.models_path]
    chosen = next((p for p in listing if provider in (None, p.name)), None)
    if chosen is None or chosen.models_path is None:
        raise ConfigurationError(
            f"Provider {provider!r} publishes no model list vidgate knows. Providers with one: "
            + (", ".join(p.name for p in listing) or "none")
        )
    same_host = {
        p.name
        for p in catalog.providers.values()
        if (p.base_url_env, p.api_key_env, p.base_url) == (chosen.base_url_env, chosen.api_key_env, chosen.base_url)
    }
    scope = [s for s in catalog.models.values() if s.provider in same_host]
    own = next((s for s in scope if s.provider == chosen.name), None)
    if own is None:
        raise ConfigurationError(f"Provider {chosen.name!r} has no models in the catalog to connect with.")
    return DiscoveryPlan(chosen.name, chosen.models_path, scope, get_dialect(own.dialect), core.connection(own))


def discovery(core: Core, plan: DiscoveryPlan, remote: list[RemoteModel]) -> Discovery:
    return compare(
        plan.provider,
        plan.connection.base_url,
        remote,
        plan.scope,
        core.catalog.models.values(),
        lambda spec: get_dialect(spec.dialect).wire_models(spec),
    )
