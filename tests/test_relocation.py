"""Relocation: the exact logit draw, vacancy limits, and what makes a place attractive."""

from __future__ import annotations

import numpy as np
import pytest

from sim import relocation
from sim.relocation import distance_kernels


def _setup(n=7, seed=0):
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2)) * 40
    dist = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)).astype(np.float32)
    kernels = distance_kernels(dist, np.array([0.05, 0.1, 0.1, 0.2]))
    values = rng.normal(size=(16, n))
    vacant = rng.integers(1, 30, n)
    return dist, kernels, values, vacant


def _exact_probs(origin, seg, kernels, values, vacant):
    n = len(vacant)
    stage = np.repeat(np.arange(4), 4)[seg]
    k = kernels[stage, origin if origin >= 0 else n, :n]
    w = k * vacant * np.exp(values[seg])
    return w / w.sum()


@pytest.mark.parametrize("origin,seg", [(0, 0), (3, 9), (-1, 14)])
def test_draw_matches_exact_logit_probabilities(origin, seg):
    """Rule: the two-level draw reproduces the logit probabilities (chi-square, 200k draws)."""
    _dist, kernels, values, vacant = _setup()
    n = len(vacant)
    npad = kernels.shape[2]
    expv = np.zeros((16, npad), np.float32)
    expv[:, :n] = np.exp(values - values.max(axis=1, keepdims=True)) * vacant
    draws = 200_000
    rng = np.random.default_rng(5)
    d = relocation.draw_destinations(np.full(draws, origin), np.full(draws, seg), kernels,
                                     np.repeat(np.arange(4), 4), expv, rng)
    p = _exact_probs(origin, seg, kernels, values, vacant)
    obs = np.bincount(d, minlength=n)
    chi2 = ((obs - draws * p) ** 2 / (draws * p)).sum()
    assert chi2 < 30, (chi2, obs / draws, p)  # 6 dof: p(chi2 > 30) < 1e-4


def test_draw_is_the_same_with_one_or_two_threads():
    """Rule: threading is an implementation detail; the same stream gives the same draws."""
    _dist, kernels, values, vacant = _setup(n=300, seed=2)
    expv = np.zeros((16, kernels.shape[2]), np.float32)
    expv[:, :300] = np.exp(values - values.max(axis=1, keepdims=True)) * vacant
    origin = np.random.default_rng(1).integers(-1, 300, 5000)
    seg = np.random.default_rng(2).integers(0, 16, 5000)
    out = []
    for threads in (1, 2):
        out.append(relocation.draw_destinations(origin, seg, kernels, np.repeat(np.arange(4), 4),
                                                expv, np.random.default_rng(9), threads))
    assert (out[0] == out[1]).all()


def test_accept_never_exceeds_vacancies():
    """Rule: a place never gives out more dwellings than it has vacant."""
    rng = np.random.default_rng(0)
    dest = rng.integers(-1, 5, 1000)
    vacant = np.array([0, 3, 10, 1000, 7])
    got = relocation.accept(dest, vacant, rng)
    assert (np.bincount(dest[got], minlength=5) <= vacant).all()
    assert np.bincount(dest[got], minlength=5)[3] == (dest == 3).sum()


def test_allocate_respects_vacancies_over_rounds():
    """Rule: after all rounds, arrivals per place <= vacancies plus dwellings freed there."""
    _dist, kernels, values, vacant = _setup(n=20, seed=3)
    vacant = np.full(20, 2)
    rng = np.random.default_rng(4)
    origin = rng.integers(0, 20, 500)
    alloc = relocation.allocate(origin, rng.integers(0, 16, 500), np.ones(500, bool), kernels,
                                np.repeat(np.arange(4), 4), values, vacant, 3, rng)
    got = alloc.dest >= 0
    arrivals = np.bincount(alloc.dest[got], minlength=20)
    freed = np.bincount(origin[got], minlength=20)
    assert (arrivals <= vacant + freed).all()
    assert got.sum() < 500


def test_better_services_raise_a_place_choice_probability_against_an_identical_copy():
    """Rule: of two identical places, the one whose utility rises (a new grocer) is chosen more."""
    n = 5
    dist = np.full((n, n), 20.0, np.float32)
    np.fill_diagonal(dist, 2.0)
    kernels = distance_kernels(dist, np.array([0.1, 0.1, 0.1, 0.1]))
    values = np.zeros((16, n))
    vacant = np.full(n, 10)
    before = _exact_probs(0, 5, kernels, values, vacant)
    assert before[3] == pytest.approx(before[4])
    values[:, 4] += 0.08 * 1.0  # grocer weight x 10 km less to the nearest grocer
    after = _exact_probs(0, 5, kernels, values, vacant)
    assert after[4] > after[3] and after[4] > before[4]


def test_move_probability_rises_with_dissatisfaction():
    """Rule: a household in a worse-than-average place is more likely to move."""
    stage = np.zeros(3, int)
    rate = np.array([0.2, 0.1, 0.1, 0.05])
    p = relocation.move_probability(stage, np.array([-1.0, 0.0, 1.0]), np.zeros(3), rate, 1.0)
    assert p[0] > p[1] > p[2] and p[1] == pytest.approx(0.2)
