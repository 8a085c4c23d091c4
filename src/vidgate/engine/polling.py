"""When to ask a provider for a job's status next: a pure function of time, latency and hints.

The shape: one early check a few seconds after submit (moderation refusals come fast), then the first
real check at ``first_fraction`` of the model's typical latency, then delays proportional to the time
already spent since submit, so the detection lag stays a small fraction of the job's time while the
number of requests grows only logarithmically. A server's own hint (``Retry-After``,
``openai-poll-after-ms``) is a floor.

Tuned with ``make bench`` (docs/benchmarks.md): jobs lasting 75-125% of the typical latency are found
with a p95 lag under 5% of their time, for about 15% of the requests a fixed 1 s loop makes. The first
real check at 60% of the typical latency assumes jobs rarely finish sooner than that; one that does is
found at that check (a lag of up to 60% of the typical latency minus its own time).

With a webhook (the provider calls back when the job changes) the hint triggers an immediate status
fetch, so polling is only the safety net for a lost callback: no early check, the first check at
``webhook_first_fraction`` of the typical latency, then every ``webhook_lag_fraction`` of the time spent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from vidgate.errors import ConfigurationError


@dataclass(frozen=True)
class PollPolicy:
    early_check_s: float = 3.0
    first_fraction: float = 0.6
    lag_fraction: float = 0.04
    min_delay_s: float = 1.0
    max_delay_s: float = 30.0  # between checks once past the first one (the first wait may be longer)
    jitter: float = 0.1
    time_scale: float = 1.0  # < 1 for emulators whose jobs run faster than the real provider's
    webhook_first_fraction: float = 1.5
    webhook_lag_fraction: float = 0.25


DEFAULT_POLICY = PollPolicy()


def next_delay(
    *,
    typical_latency_s: float,
    elapsed_s: float,
    attempt: int,
    server_hint_s: float | None = None,
    rand: float = 0.5,
    policy: PollPolicy = DEFAULT_POLICY,
    webhook: bool = False,
) -> float:
    """Seconds to wait before status check number ``attempt`` (0-based), ``elapsed_s`` after submit.

    ``rand`` in [0, 1) drives the jitter (0.5 = none) so callers inject their own randomness.
    ``webhook``: the provider will call back, so polling is only the fallback (see the module docstring).
    Everything but the server's hint is computed in the provider's time and scaled by ``time_scale``.
    """
    scale = policy.time_scale
    elapsed_s = elapsed_s / scale
    first = policy.webhook_first_fraction if webhook else policy.first_fraction
    first_at = max(policy.min_delay_s, first * typical_latency_s)
    if attempt == 0 and not webhook:
        delay = min(policy.early_check_s, first_at)
    elif elapsed_s < first_at:
        delay = first_at - elapsed_s  # the first real check: not capped by max_delay_s
    else:
        fraction = policy.webhook_lag_fraction if webhook else policy.lag_fraction
        delay = min(policy.max_delay_s, fraction * elapsed_s)
    delay = max(policy.min_delay_s, delay)
    delay *= (1 + policy.jitter * (2 * rand - 1)) * scale
    if server_hint_s is not None:
        delay = max(delay, server_hint_s)
    return max(0.0, delay)


def expected_latency(typical_s: float, adjustments: list[tuple[bool, float]]) -> float:
    """The catalog's typical latency plus every adjustment whose condition holds."""
    return typical_s + sum(add for applies, add in adjustments if applies)


TIME_SCALE_ENV = "VIDGATE_POLL_TIME_SCALE"


def policy_from_env(env: Mapping[str, str], policy: PollPolicy = DEFAULT_POLICY) -> PollPolicy:
    """``policy``, on the time scale ``VIDGATE_POLL_TIME_SCALE`` names when the caller chose none: set by people
    pointing the library at ``vidgate emulate``, whose jobs take seconds where the real provider's take minutes
    (``0.05``: poll 20 times sooner). An explicit ``poll_policy`` always wins."""
    raw = env.get(TIME_SCALE_ENV, "").strip()
    if not raw or policy != DEFAULT_POLICY:
        return policy
    try:
        scale = float(raw)
    except ValueError:
        scale = -1.0
    if not (0 < scale <= 1000):  # (NaN fails this too)
        raise ConfigurationError(
            f"{TIME_SCALE_ENV}={raw!r} is not a usable time scale: give a number above 0, e.g. 0.05 for "
            f"`vidgate emulate` (polls 20x sooner), or unset it for real providers."
        )
    return replace(policy, time_scale=scale)
