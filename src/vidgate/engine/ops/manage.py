"""The operations around jobs: remix, cancel, delete, the provider's list, characters, model discovery."""

from __future__ import annotations

from vidgate.engine.core import Core
from vidgate.engine.plans import (
    character_plan,
    delete_plan,
    discovery,
    discovery_plan,
    list_plan,
    remix_job,
    remix_plan,
    speaks,
)
from vidgate.errors import ProviderHTTPError, TransportError
from vidgate.net.steps import Steps
from vidgate.providers import get_dialect
from vidgate.providers._base import VideoPage
from vidgate.providers.remote_models import Discovery, list_models
from vidgate.types import Character, Job


def remix(core: Core, job: Job | str, prompt: str) -> Steps[Job]:
    """A new job: the finished ``job``'s video remixed with ``prompt``, on the same endpoint."""
    source, spec, dialect, conn = remix_plan(core, job)
    assert source.provider_task_id is not None
    new = core.sending(remix_job(core, source, prompt))
    started = core.clock()
    try:
        update = yield from dialect.remix(source.provider_task_id, prompt, source.request, spec, conn)
    except (TransportError, ProviderHTTPError) as exc:
        exc.job = core.create_failed(core.job(new.id), exc)
        core.observe("remix", source.provider, started, exc.job.status.value)
        raise
    saved = core.accepted(core.job(new.id), update)
    core.observe("remix", source.provider, started, saved.status.value)
    return saved


def list_videos(
    core: Core, where: str, *, after: str | None = None, limit: int | None = None, order: str | None = None
) -> Steps[VideoPage]:
    spec, dialect, conn = list_plan(core, where)
    return (yield from dialect.list_videos(spec, conn, after=after, limit=limit, order=order))


def delete(core: Core, job: Job | str) -> Steps[bool]:
    target, spec, dialect, conn = delete_plan(core, job)
    assert target.provider_task_id is not None
    return (yield from dialect.delete(target.provider_task_id, spec, conn))


def cancel(core: Core, job: Job | str) -> Steps[Job]:
    """Stop a job: at the provider where its protocol can, otherwise here (vidgate stops tracking it; work the
    provider already did may still be billed). A final job is returned as it is."""
    target = core.job(job)
    if target.status.terminal:
        return target
    if target.provider_task_id is None:
        never_sent = target.status.value == "pending"  # ``Core.sending`` marks a create unknown before it leaves
        reason = (
            "cancelled in vidgate before the provider accepted it"
            if never_sent
            else "cancelled in vidgate; the create's outcome was unknown, so the provider may still have it"
        )
        return core.cancel_locally(target, reason, provider_may_bill=not never_sent)
    spec = core.spec_of(target)
    if not speaks(spec, "cancel"):
        return core.cancel_locally(
            target,
            "cancelled in vidgate; the provider has no cancel operation and may still finish it",
            provider_may_bill=True,
        )
    conn = core.connection_for(target)
    started = core.clock()
    update = yield from get_dialect(spec.dialect).cancel(target.provider_task_id, spec, conn)
    core.observe("cancel", target.provider, started, "ok")
    return core.cancelled(target, update)


def create_character(
    core: Core,
    *,
    timestamps: str,
    url: str | None = None,
    from_task: str | Job | None = None,
    name: str | None = None,
    model: str | None = None,
    provider: str | None = None,
    route: str | None = None,
) -> Steps[Character]:
    plan = character_plan(
        core,
        url=url,
        from_task=from_task,
        timestamps=timestamps,
        name=name,
        model=model,
        provider=provider,
        route=route,
    )
    return (yield from plan.dialect.create_character(plan.request, plan.connection))


def remote_models(core: Core, provider: str | None = None) -> Steps[Discovery]:
    plan = discovery_plan(core, provider)
    remote = yield from list_models(plan.dialect, plan.connection, plan.path)
    return discovery(core, plan, remote)
