"""When to ask a provider for a job's status next: a pure function of time, latency and hints.

The shape: one early check a few seconds after submit (moderation refusals come fast), then the first
real check at half the model's typical latency, then delays proportional to the time already spent,
so the detection lag stays a small fraction of the render time while the number of requests grows
only logarithmically. A server's own hint (``Retry-After``, ``openai-poll-after-ms``) is a floor.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PollPolicy:
    early_check_s: float = 3.0
    first_fraction: float = 0.5
    lag_fraction: float = 0.04
    min_delay_s: float = 1.0
    max_delay_s: float = 30.0
    jitter: float = 0.1
    time_scale: float = 1.0  # < 1 for emulators whose jobs run faster than the real provider's


DEFAULT_POLICY = PollPolicy()


def next_delay(
    *,
    typical_latency_s: float,
    elapsed_s: float,
    attempt: int,
    server_hint_s: float | None = None,
    rand: float = 0.5,
    policy: PollPolicy = DEFAULT_POLICY,
) -> float:
    """Seconds to wait before status check number ``attempt`` (0-based), ``elapsed_s`` after submit.

    ``rand`` in [0, 1) drives the jitter (0.5 = none) so callers inject their own randomness.
    Everything but the server's hint is computed in the provider's time and scaled by ``time_scale``.
    """
    scale = policy.time_scale
    elapsed_s = elapsed_s / scale
    first_at = max(policy.min_delay_s, policy.first_fraction * typical_latency_s)
    if attempt == 0:
        delay = min(policy.early_check_s, first_at)
    elif elapsed_s < first_at:
        delay = first_at - elapsed_s
    else:
        delay = policy.lag_fraction * elapsed_s
    delay = min(policy.max_delay_s, max(policy.min_delay_s, delay))
    delay *= (1 + policy.jitter * (2 * rand - 1)) * scale
    if server_hint_s is not None:
        delay = max(delay, server_hint_s)
    return max(0.0, delay)


def expected_latency(typical_s: float, adjustments: list[tuple[bool, float]]) -> float:
    """The catalog's typical latency plus every adjustment whose condition holds."""
    return typical_s + sum(add for applies, add in adjustments if applies)
