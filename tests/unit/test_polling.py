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


def test_early_check_then_most_of_the_latency_then_proportional() -> None:
    assert next_delay(typical_latency_s=120, elapsed_s=0, attempt=0, policy=POLICY) == 3.0
    assert next_delay(typical_latency_s=40, elapsed_s=3, attempt=1, policy=POLICY) == 21.0  # 0.6 * 40 - 3
    # the first real check is not capped by max_delay_s (that cap is for the proportional phase)
    assert next_delay(typical_latency_s=120, elapsed_s=3, attempt=1, policy=POLICY) == 69.0
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


def test_lag_and_requests_over_a_spread_of_job_times() -> None:
    """Jobs taking 75-125% of the typical latency: p95 lag under 5% of the job's time, under 20% of the
    requests a 1 s loop makes (the floor ``make bench`` checks against the emulator)."""
    checks, baseline, lags = 0, 0, []
    for typical in (60, 90, 120, 180, 240):
        for i in range(21):
            render = typical * (0.75 + 0.5 * i / 20)
            n, lag = schedule(typical, render, PollPolicy())  # with jitter: rand=0.5 means none
            checks, baseline = checks + n, baseline + int(render) + 1
            lags.append(lag / render)
    lags.sort()
    assert checks <= 0.2 * baseline
    assert lags[int(0.95 * len(lags))] <= 0.05


def test_with_a_webhook_polling_is_only_a_safety_net() -> None:
    policy = PollPolicy(jitter=0.0)
    # no early check: the first status fetch comes at 1.5x the typical latency unless a callback wakes the job
    assert next_delay(typical_latency_s=60, elapsed_s=0, attempt=0, policy=policy, webhook=True) == 90.0
    assert next_delay(typical_latency_s=60, elapsed_s=90, attempt=1, policy=policy, webhook=True) == 22.5
    assert next_delay(typical_latency_s=60, elapsed_s=400, attempt=4, policy=policy, webhook=True) == 30.0


def test_a_job_that_finishes_early_is_found_at_the_first_real_check() -> None:
    checks, lag = schedule(typical=100, render=30)
    assert checks == 2 and lag == 30.0  # early check at 3 s, then at 60 s
