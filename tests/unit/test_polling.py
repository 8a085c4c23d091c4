from vidgate.engine.polling import PollPolicy, next_delay

POLICY = PollPolicy(jitter=0.0)


def schedule(typical: float, render: float, policy: PollPolicy = POLICY) -> tuple[int, float]:
    """Simulate polling a job that finishes at ``render`` seconds: (status checks, detection lag)."""
    t, attempt = 0.0, 0
    while True:
        t += next_delay(typical_latency_s=typical, elapsed_s=t, attempt=attempt, policy=policy)
        attempt += 1
        if t >= render:
            return attempt, t - render


def test_early_check_then_half_latency_then_proportional() -> None:
    assert next_delay(typical_latency_s=120, elapsed_s=0, attempt=0, policy=POLICY) == 3.0
    assert next_delay(typical_latency_s=40, elapsed_s=3, attempt=1, policy=POLICY) == 17.0
    assert next_delay(typical_latency_s=120, elapsed_s=3, attempt=1, policy=POLICY) == 30.0  # capped
    assert next_delay(typical_latency_s=120, elapsed_s=100, attempt=5, policy=POLICY) == 4.0
    assert next_delay(typical_latency_s=120, elapsed_s=5000, attempt=9, policy=POLICY) == 30.0  # the cap


def test_server_hint_is_a_floor_and_not_scaled() -> None:
    assert next_delay(typical_latency_s=120, elapsed_s=100, attempt=5, server_hint_s=9, policy=POLICY) == 9
    scaled = PollPolicy(jitter=0.0, time_scale=0.01)
    assert next_delay(typical_latency_s=120, elapsed_s=1.0, attempt=5, server_hint_s=2, policy=scaled) == 2


def test_jitter_stays_within_bounds() -> None:
    policy = PollPolicy(jitter=0.1)
    low = next_delay(typical_latency_s=120, elapsed_s=100, attempt=5, rand=0.0, policy=policy)
    high = next_delay(typical_latency_s=120, elapsed_s=100, attempt=5, rand=0.999, policy=policy)
    assert low == 3.6 and 4.39 < high < 4.4


def test_few_requests_and_small_lag_compared_with_a_one_second_loop() -> None:
    checks, lag = schedule(typical=120, render=150)
    assert checks <= 0.2 * 150  # a 1 s loop makes 150 checks
    assert lag <= 0.05 * 150


def test_time_scale_shrinks_every_delay() -> None:
    fast = PollPolicy(jitter=0.0, time_scale=0.01)
    assert next_delay(typical_latency_s=120, elapsed_s=0, attempt=0, policy=fast) == 0.03
