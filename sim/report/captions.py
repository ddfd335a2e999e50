"""Plain-language verdicts and captions derived from the numbers they describe.

A caption never says more than its interval allows: a difference whose 95% interval lies
wholly above zero is "clearly more", wholly below zero "clearly fewer", and one whose interval
includes zero "cannot be told apart from no change". Baseline changes are judged by the runs
themselves: a fall "in every run" only if every seed falls.
"""

from __future__ import annotations

import math

from .i18n import text


def verdict_key(mean: float, low: float, high: float) -> str:
    """The verdict of a difference with its 95% interval.

    Returns:
        ``no_difference`` (all three exactly zero, e.g. before an initiative starts),
        ``clearly_more`` (interval above zero), ``clearly_fewer`` (below zero) or
        ``cannot_tell`` (interval includes zero, or no interval).
    """
    if mean == 0 and low == 0 and high == 0:
        return "no_difference"
    if not (math.isfinite(low) and math.isfinite(high)):
        return "cannot_tell"
    if low > 0:
        return "clearly_more"
    if high < 0:
        return "clearly_fewer"
    return "cannot_tell"


def verdict(mean: float, low: float, high: float, lang: str) -> str:
    """:func:`verdict_key` in words."""
    return text(verdict_key(mean, low, high), lang)


def direction_key(start: list[float] | float, end: list[float]) -> str:
    """Whether every run falls, every run grows, or the runs disagree.

    Args:
        start: Value(s) at the start (one per run, or one shared value).
        end: Value at the end, one per run.
    """
    n = len(end)
    starts = list(start) if isinstance(start, list | tuple) else [start] * n
    if all(e < s for s, e in zip(starts, end, strict=True)):
        return "every_run_falls"
    if all(e > s for s, e in zip(starts, end, strict=True)):
        return "every_run_grows"
    return "runs_disagree"
