"""Checks and plans made before any I/O: what an operation needs, or a ``ValidationError`` saying why not.

Each ``*_plan`` returns the job, model, dialect and connection an operation (``vidgate.engine.ops``) drives,
or raises before anything is sent. The connection of an existing job is always the one of the endpoint it
was created for (``Core.connection_for``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
from pydantic import ValidationError as PydanticValidationError

from vidgate.catalog import ModelSpec
from vidgate.catalog.loader import is_retired
from vidgate.characters import CharacterRegistry, CharacterRequest
from vidgate.engine.core import Core
from vidgate.engine.download import Downloaded
from vidgate.errors import ConfigurationError, DownloadError, ValidationError
from vidgate.problems import Problem
from vidgate.providers import Connection, Dialect, get_dialect
from vidgate.providers.remote_models import Discovery, RemoteModel, compare
from vidgate.store.errors import JobNotFoundError
from vidgate.types import Asset, Job, JobStatus


def download_target(core: Core, job: Job, variant: str) -> tuple[Asset, httpx.Request, ModelSpec]:
    """The asset of kind ``variant`` and the request that fetches it, or ``DownloadError`` saying why not."""
    if job.status is not JobStatus.succeeded:
        raise DownloadError(f"job {job.id} has no finished video (status {job.status.value})")
    asset = next((a for a in job.assets if a.kind == variant), None)
    if asset is None:
        kinds = ", ".join(a.kind for a in job.assets) or "none"
        raise DownloadError(
            f"job {job.id} ({job.model}) has no {variant!r} asset; it has: {kinds}. "
            "Thumbnails and spritesheets exist only where the provider offers them (OpenAI-format /v1/videos)."
        )
    spec = core.spec_of(job)
    return asset, get_dialect(spec.dialect).download_request(asset, core.connection_for(job)), spec


def speaks(spec: ModelSpec, op: str) -> bool:
    return op in get_dialect(spec.dialect).operations


def require_operation(core: Core, spec: ModelSpec, op: str) -> Dialect:
    """The dialect of ``spec`` when it speaks ``op``; else a ``ValidationError`` naming providers that do."""
    dialect = get_dialect(spec.dialect)
    if op not in dialect.operations:
        able = sorted({m.provider for m in core.catalog.models.values() if speaks(m, op)})
        raise ValidationError(
            [
                Problem(
                    "model",
                    spec.key,
                    f"{spec.key} speaks {spec.dialect}, which has no {op} operation",
                    allowed=f"models of the providers {', '.join(able)}" if able else "none yet",
                )
            ],
            spec.key,
        )
    return dialect


def remix_plan(core: Core, job: Job | str) -> tuple[Job, ModelSpec, Dialect, Connection]:
    """Check a remix before any I/O: the model remixes, the source video is finished, not retired."""
    source = core.job(job)
    spec = core.spec_of(source)
    problems: list[Problem] = []
    if "remix" not in spec.modes:
        problems.append(Problem("model", spec.key, f"{spec.key} has no remix mode", allowed=", ".join(spec.modes)))
    if source.status is not JobStatus.succeeded or source.provider_task_id is None:
        problems.append(
            Problem(
                "job",
                source.id,
                f"a remix needs a finished video; this job is {source.status.value}",
                allowed="a succeeded job",
                suggestion="wait for the job first (client.wait(job))",
            )
        )
    if is_retired(spec) and not core.allow_retired:
        assert spec.sunset is not None
        problems.append(
            Problem(
                "model",
                spec.key,
                f"retired on {spec.sunset.date.isoformat()} ({spec.sunset.note})",
                suggestion="pass allow_retired=True / --allow-retired if your endpoint still serves it",
            )
        )
    if problems:
        raise ValidationError(problems, spec.key)
    return source, spec, require_operation(core, spec, "remix"), core.connection_for(source)


def remix_job(core: Core, source: Job, prompt: str) -> Job:
    """The new job of a remix, bound to the source's endpoint and owner."""
    request = source.request.model_copy(update={"prompt": prompt, "images": []}) if source.request else None
    warning = f"remix of job {source.id} (provider video {source.provider_task_id})"
    job = Job(
        id="job_" + uuid.uuid4().hex[:24],
        provider=source.provider,
        model=source.model,
        request=request,
        idempotency_key=uuid.uuid4().hex,
        warnings=[*source.warnings, warning] if source.warnings else [warning],
        base_url=source.base_url,
        credentials_ref=source.credentials_ref,
        owner=source.owner,
        route=source.route,
        created_at=core.now(),
        updated_at=core.now(),
    )
    return core.create(job)


def list_plan(core: Core, where: str) -> tuple[ModelSpec, Dialect, Connection]:
    """``where`` is a provider name (``openai``) or a model (``relay-openai/sora-2``)."""
    if where in core.catalog.providers:
        specs = core.catalog.by_provider(where)
        spec = next((m for m in specs if speaks(m, "list")), specs[0])
    else:
        spec = core.catalog.resolve(where)
    return spec, require_operation(core, spec, "list"), core.connection(spec)


def delete_plan(core: Core, job: Job | str) -> tuple[Job, ModelSpec, Dialect, Connection]:
    target = core.job(job)
    spec = core.spec_of(target)
    dialect = require_operation(core, spec, "delete")
    if target.provider_task_id is None:
        raise ValidationError(
            [Problem("job", target.id, "the provider never accepted this job: there is nothing to delete")],
            spec.key,
        )
    return target, spec, dialect, core.connection_for(target)


def file_facts(asset: Asset, got: Downloaded) -> Asset:
    """An image asset (thumbnail, spritesheet) after download: where it is, its hash, size and real type."""
    return asset.model_copy(
        update={"path": got.where, "sha256": got.sha256, "size_bytes": got.size, "mime_type": got.mime}
    )


# ---------------------------------------------------------------- characters and model discovery


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
    route: str | None = None,
) -> CharacterPlan:
    """Check a character request (every problem at once) and find where it goes. Raises before any I/O."""
    source = from_task if isinstance(from_task, Job) else _stored(core, from_task)
    spec = _character_spec(core, model, provider)
    dialect = get_dialect(spec.dialect)
    if "characters" not in dialect.operations:
        makers = [
            s.key
            for s in core.catalog.models.values()
            if s.characters.supported and "characters" in get_dialect(s.dialect).operations
        ]
        raise ValidationError(
            [
                Problem(
                    "model",
                    spec.key,
                    f"vidgate cannot create stored characters through {spec.key}'s protocol ({spec.dialect}); "
                    f"{spec.key} takes a character inline on create ({spec.characters.how or 'see its entry'})",
                    allowed=", ".join(makers[:8]) or "none",
                    suggestion="create the character with one of those models, or pass character_url and "
                    "character_timestamps with the video request",
                )
            ],
            spec.key,
        )
    problems: list[Problem] = []
    task_id = _task_id(source, from_task, problems)
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
    # a character made from a vidgate job is made where that job lives (its task id means nothing elsewhere)
    connection = core.connection_for(source) if source is not None else core.connection(spec, route)
    return CharacterPlan(request, spec, dialect, connection)


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
        makes = spec.characters.supported and "characters" in get_dialect(spec.dialect).operations
        if makes and provider in (None, spec.provider):
            return spec
    raise ConfigurationError(
        f"No model of provider {provider!r} can create characters. Providers that can: "
        + ", ".join(sorted({s.provider for s in core.catalog.models.values() if s.characters.supported}))
    )


def _task_id(source: Job | None, from_task: str | Job | None, problems: list[Problem]) -> str | None:
    """A vidgate Job (or its id) becomes the provider's task id; any other string is sent as given."""
    if from_task is None:
        return None
    if source is None:
        return str(from_task)
    if source.provider_task_id is None:
        problems.append(
            Problem(
                "from_task",
                source.id,
                "this vidgate job has no provider task id (it was never accepted by the provider)",
                allowed="a job that the provider accepted, or the provider's task id",
            )
        )
    return source.provider_task_id


def _stored(core: Core, job_id: str | Job | None) -> Job | None:
    if job_id is None or isinstance(job_id, Job):
        return job_id
    try:
        return core.store.get(job_id)
    except JobNotFoundError:
        return None


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
