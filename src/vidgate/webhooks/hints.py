"""``WebhookHint``: what an incoming webhook tells vidgate — *which job to look at now*, nothing more.

A hint never carries a final state. The provider's status endpoint is the truth: the engine answers a
hint with an immediate status fetch, and polling stays as the fallback when no webhook arrives.
Duplicate or late hints are harmless because a status fetch of a finished job changes nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class WebhookHint(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider: str = Field(description="Catalog provider name the delivery came for (e.g. the route's provider)")
    event_type: str = Field(description="The sender's event type (e.g. video.completed), or 'notify' if it has none")
    provider_task_id: str | None = Field(
        default=None, description="The provider's id of the job (video id, interaction id, operation id, task_id)"
    )
    job_id: str | None = Field(default=None, description="vidgate's job id, when the callback URL carried it")
    webhook_id: str | None = Field(default=None, description="The delivery's webhook-id (Standard Webhooks), if any")
    received_at: float = Field(description="Unix time the receiver accepted the delivery (from its injected clock)")
    raw: Any = Field(default=None, description="The parsed JSON body as sent; None if the body was not JSON")

    @model_validator(mode="after")
    def _names_a_job(self) -> WebhookHint:
        if not (self.provider_task_id or self.job_id):
            raise ValueError("a WebhookHint needs provider_task_id or job_id: it must say which job to re-check")
        return self
