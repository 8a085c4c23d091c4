"""Prometheus metrics for ``/metrics``: one registry per gateway (so tests can run several in one process).

Jobs by state and webhook deliveries by state are read from the database at scrape time (every replica
reports the same numbers); latencies, polls, HTTP requests and delivery attempts are this process's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from vidgate.types import JobStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StateCollector(Collector):
    def __init__(self, jobs: Callable[[], dict[str, int]], deliveries: Callable[[], dict[str, int]]) -> None:
        self.jobs = jobs
        self.deliveries = deliveries

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily("vidgate_jobs", "Jobs in the store by state", labels=["state"])
        counts = self.jobs()
        for js in JobStatus:
            jobs.add_metric([js.value], counts.get(js.value, 0))
        yield jobs
        hooks = GaugeMetricFamily(
            "vidgate_webhook_deliveries", "Outgoing webhook deliveries by state", labels=["state"]
        )
        for state, n in sorted(self.deliveries().items()):
            hooks.add_metric([state], n)
        yield hooks


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.provider_latency = Histogram(
            "vidgate_provider_request_seconds",
            "Time of calls to providers",
            ["provider", "operation"],
            registry=self.registry,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )
        self.polls = Counter(
            "vidgate_provider_polls", "Status checks sent to providers", ["provider"], registry=self.registry
        )
        self.submits = Counter(
            "vidgate_submits", "Creates sent to providers by outcome", ["provider", "outcome"], registry=self.registry
        )
        self.fallbacks = Counter(
            "vidgate_route_fallbacks",
            "Creates moved to another route after a definitive refusal",
            ["from_route", "to_route"],
            registry=self.registry,
        )
        self.http = Counter(
            "vidgate_http_requests", "Gateway HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.webhook_attempts = Counter(
            "vidgate_webhook_attempts",
            "Outgoing webhook delivery attempts by outcome",
            ["outcome"],
            registry=self.registry,
        )

    def watch_states(self, jobs: Callable[[], dict[str, int]], deliveries: Callable[[], dict[str, int]]) -> None:
        self.registry.register(_StateCollector(jobs, deliveries))

    def render(self) -> bytes:
        return generate_latest(self.registry)
