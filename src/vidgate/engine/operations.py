"""The extra video operations both clients share: downloads of any variant, remix, list, delete.

Pure planning (checks before any I/O, which request to send, the new job's bookkeeping); ``Client`` and
``AsyncClient`` run the dialects' flows.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import httpx

from vidgate.catalog import ModelSpec
from vidgate.catalog.loader import is_retired
from vidgate.catalog.validate import Problem
from vidgate.engine.download import Downloaded
from vidgate.errors import DownloadError, ValidationError
from vidgate.providers import Connection, Dialect, get_dialect
from vidgate.types import Asset, Job, JobStatus

if TYPE_CHECKING:
    from vidgate.engine.core import Core


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
    return asset, get_dialect(spec.dialect).download_request(asset, core.connection(spec)), spec


def operation(core: Core, spec: ModelSpec, op: str) -> Dialect:
    """The dialect of ``spec`` when it speaks ``op``; else a ``ValidationError`` naming models that do."""
    dialect = get_dialect(spec.dialect)
    if op not in dialect.operations:
        able = sorted({m.provider for m in core.catalog.models.values() if op in get_dialect(m.dialect).operations})
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


def remix_plan(core: Core, job: Job | str, prompt: str) -> tuple[Job, ModelSpec, Dialect, Connection]:
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
    return source, spec, operation(core, spec, "remix"), core.connection(spec)


def remix_job(core: Core, source: Job, prompt: str) -> Job:
    request = source.request.model_copy(update={"prompt": prompt, "images": []}) if source.request else None
    warning = f"remix of job {source.id} (provider video {source.provider_task_id})"
    job = Job(
        id="job_" + uuid.uuid4().hex[:24],
        provider=source.provider,
        model=source.model,
        request=request,
        idempotency_key=uuid.uuid4().hex,
        warnings=[*source.warnings, warning] if source.warnings else [warning],
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
        spec = next((m for m in specs if "list" in get_dialect(m.dialect).operations), specs[0])
    else:
        spec = core.catalog.resolve(where)
    return spec, operation(core, spec, "list"), core.connection(spec)


def delete_plan(core: Core, job: Job | str) -> tuple[Job, ModelSpec, Dialect, Connection]:
    target = core.job(job)
    spec = core.spec_of(target)
    dialect = operation(core, spec, "delete")
    if target.provider_task_id is None:
        raise ValidationError(
            [Problem("job", target.id, "the provider never accepted this job: there is nothing to delete")],
            spec.key,
        )
    return target, spec, dialect, core.connection(spec)


EXTENSIONS = {"image/webp": "webp", "image/jpeg": "jpg", "image/png": "png", "video/mp4": "mp4"}


def file_facts(asset: Asset, got: Downloaded) -> Asset:
    """An image asset (thumbnail, spritesheet) after download: where it is, its hash, size and real type."""
    return asset.model_copy(
        update={"path": str(got.path), "sha256": got.sha256, "size_bytes": got.size, "mime_type": got.mime}
    )
