"""Benchmarks run by command (``python -m benchmarks``), never by the test suite."""

from explorer.stats import wilson_interval


def null_rate(false_alarms: int, seeds: int) -> str:
    """Seeds of null data that gave a region, with the 95% Wilson interval of the rate: 40
    seeds tell 0% from 15%, not 3% from 7%, so a count near a 5% target is read with it."""
    low, high = wilson_interval(false_alarms, seeds)
    return f"{false_alarms} of {seeds} ({false_alarms / seeds:.1%}, 95% CI {low:.1%}-{high:.1%})"
