"""Compiled kernels: every numba kernel gives exactly what its numpy twin gives.

The model may run with or without numba (``pip install -e ".[fast]"``); results must not
depend on it. Each test feeds the same random inputs to the compiled kernel and to the numpy
twin and compares the outputs bit for bit; the last test runs a small model both ways. Without
numba the comparisons are skipped and the numpy twins are checked against their definitions.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from sim import kernels
from sim.rng import _index_codes, race_seeds

needs_numba = pytest.mark.skipif(not kernels.ENABLED, reason="numba not installed (or off)")


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.fixture
def persons():
    rng = np.random.default_rng(3)
    n_hh = 5_000
    hh = rng.integers(0, n_hh, 20_000).astype(np.int32)
    hh[:n_hh] = np.arange(n_hh)  # every household has a member
    age = rng.integers(0, 111, len(hh)).astype(np.int16)
    child = (age < 18) | (rng.random(len(hh)) < 0.05)
    child[rng.integers(0, n_hh, 300)] = True
    employed = (age >= 18) & (rng.random(len(hh)) < 0.6)
    return hh, age, child, employed, n_hh


@needs_numba
def test_head_age_kernel_equals_numpy(persons):
    """Rule: the head's age (oldest non-child, else oldest member) is the same both ways."""
    hh, age, child, _, n_hh = persons
    only_children = np.isin(hh, np.arange(0, n_hh, 7))
    child = child | only_children  # some households of children only
    assert _same(kernels._head_age_nb(hh, age, child, n_hh + 3),
                 kernels.head_age_numpy(hh, age, child, n_hh + 3))


@needs_numba
def test_household_and_place_counts_kernels_equal_numpy(persons):
    """Rule: members, minors, workers and persons per (place, group) are the same both ways."""
    hh, age, _, employed, n_hh = persons
    for a, b in zip(kernels._household_counts_nb(hh, age, employed, n_hh),
                    kernels.household_counts_numpy(hh, age, employed, n_hh), strict=True):
        assert _same(a, b)
    rng = np.random.default_rng(4)
    place = rng.integers(0, 40, n_hh).astype(np.int32)
    group = rng.integers(0, 4, len(hh))
    mask = rng.random(n_hh) < 0.8
    for m in (None, mask):
        arg = np.zeros(0, bool) if m is None else m
        assert _same(kernels._place_group_counts_nb(place, hh, group, 40, 4, arg),
                     kernels.place_group_counts_numpy(place, hh, group, 40, 4, m))


@needs_numba
def test_compaction_rows_kernel_equals_numpy(persons):
    """Rule: kept persons, surviving households and their new rows are the same both ways."""
    hh, _, _, _, n_hh = persons
    keep = np.random.default_rng(5).random(len(hh)) < 0.7
    for a, b in zip(kernels._compact_rows_nb(keep, hh, n_hh),
                    kernels.compact_rows_numpy(keep, hh, n_hh), strict=True):
        assert _same(a, b)


@needs_numba
def test_keyed_uniform_kernel_equals_numpy():
    """Rule: keyed uniforms (negative and 63-bit ids included) are the same both ways."""
    rng = np.random.default_rng(6)
    ids = np.concatenate([rng.integers(-(2**62), 2**62, 10_000), [-1, 0, 2**63 - 1]])
    key = np.uint64(0xDEADBEEF12345678)
    assert _same(kernels._keyed_uniforms_nb(ids, key), kernels.keyed_uniforms_numpy(ids, key))


@needs_numba
def test_race_kernels_equal_numpy():
    """Rule: the hashed race inputs and the argmin of (53 log 2 - log) / weight are identical,
    zero weights (never winning) and all-zero rows included."""
    rng = np.random.default_rng(7)
    seed = race_seeds(rng.random(3_000))
    codes = _index_codes(64)
    assert _same(kernels._race_inputs_1d_nb(seed, codes[:32]),
                 kernels.race_inputs_numpy(seed, codes[:32]))
    cols = rng.integers(0, 64, (3_000, 32))
    assert _same(kernels._race_inputs_2d_nb(seed, codes[cols]),
                 kernels.race_inputs_numpy(seed, codes[cols]))
    logs = np.log(kernels.race_inputs_numpy(seed, codes[:32]))
    den = rng.random((3_000, 32)).astype(np.float32)
    den[rng.random(den.shape) < 0.3] = 0.0
    den[:5] = 0.0
    top = 53.0 * np.log(2.0)
    assert _same(kernels._argmin_ratio_nb(top, logs, den),
                 kernels.argmin_ratio_numpy(top, logs, den))
    ties = np.ones((10, 8))
    assert _same(kernels._argmin_ratio_nb(2.0, ties, np.ones((10, 8))),
                 kernels.argmin_ratio_numpy(2.0, ties, np.ones((10, 8))))


@needs_numba
def test_block_race_kernels_equal_numpy():
    """Rule: the compiled destination draw's three kernels (block race on block totals read
    by row, race inputs for a run of codes, column race on weights computed in place) give
    exactly what their numpy twins give, zero weights and all-zero rows included."""
    rng = np.random.default_rng(11)
    m, nb, b, n_rows = 2_000, 12, 12, 50
    seed = race_seeds(rng.random(m))
    top = 53.0 * np.log(2.0)
    codes = _index_codes(nb + nb * b)
    logs = np.log(kernels.race_inputs_numpy(seed, codes[:nb]))
    den = rng.random((n_rows, nb))
    den[rng.random(den.shape) < 0.3] = 0.0
    den[:3] = 0.0
    r = rng.integers(0, n_rows, m)
    assert _same(kernels._argmin_rows_nb(top, logs, den, r),
                 kernels.argmin_rows_numpy(top, logs, den, r))
    first = rng.integers(0, nb, m) * b + nb
    assert _same(kernels._race_inputs_run_nb(seed, codes, first, b),
                 kernels.race_inputs_run_numpy(seed, codes, first, b))
    logs = np.log(kernels.race_inputs_run_numpy(seed, codes, first, b))
    k2 = rng.random((8, nb * b)).astype(np.float32)
    attract = rng.random((16, nb * b)).astype(np.float32)
    attract[rng.random(attract.shape) < 0.4] = 0.0
    krow, seg = rng.integers(0, 8, m), rng.integers(0, 16, m)
    col0 = rng.integers(0, nb, m) * b
    assert _same(kernels._argmin_weights_nb(top, logs, k2, krow, attract, seg, col0),
                 kernels.argmin_weights_numpy(top, logs, k2, krow, attract, seg, col0))


@needs_numba
@pytest.mark.parametrize("threads", [1, 2])
def test_compiled_destination_draw_equals_the_numpy_draw(monkeypatch, threads):
    """Rule: sim.relocation.draw_destinations gives the same destination for every chooser
    with the compiled kernels as without them (padded columns, places without vacancies,
    in-migrants without an origin, more choosers than one compiled chunk)."""
    from sim import relocation

    rng = np.random.default_rng(5)
    n, npad = 97, 100  # block size 10: three padded columns
    kern = np.zeros((4, n + 1, npad), np.float32)
    kern[:, :n, :n] = rng.random((4, n, n)).astype(np.float32)
    kern[:, n, :n] = 1.0
    attract = np.zeros((16, npad), np.float32)
    attract[:, :n] = rng.random((16, n)).astype(np.float32)
    attract[:, np.flatnonzero(rng.random(n) < 0.2)] = 0.0  # no vacancy there
    stage_of_seg = np.arange(16) // 4
    m = relocation.CHOOSER_CHUNK + 5_000
    origin = rng.integers(-1, n, m)
    seg = rng.integers(0, 16, m)
    u = rng.random(m)
    fast = relocation.draw_destinations(origin, seg, kern, stage_of_seg, attract, u, threads)
    monkeypatch.setattr(kernels, "ENABLED", False)
    slow = relocation.draw_destinations(origin, seg, kern, stage_of_seg, attract, u, threads)
    assert _same(fast, slow)
    assert (fast >= 0).all() and (attract[seg, fast] > 0).all()


@needs_numba
def test_rank_and_search_kernels_equal_numpy():
    """Rule: ranks within groups (ties kept in position order) and the workplace search
    (CDF rows laid end to end, uniforms up to the row's end) are the same both ways."""
    rng = np.random.default_rng(8)
    group = rng.integers(0, 50, 20_000)
    key = np.round(rng.random(20_000), 2)  # many ties
    key[:10] = np.inf
    for a, b in zip(kernels._rank_within_nb(group, key, 50),
                    kernels.rank_within_numpy(group, key), strict=True):
        assert _same(a, b)
    from sim.jobs import flat_cdf

    w = rng.random((300, 200)) * (rng.random((300, 200)) < 0.5)
    w[:, 0] += 1e-9
    cum = np.cumsum(w, axis=1)
    cum /= cum[:, -1:]
    cum[:, -1] = 1.0
    flat = flat_cdf(cum)
    rows = rng.integers(0, 300, 50_000)
    u = rng.random(50_000)
    u[:100] = 1.0 - 2.0**-53
    u[100:200] = 0.0
    assert _same(kernels._sample_rows_nb(flat, 200, rows, u),
                 kernels.sample_rows_numpy(flat, 200, rows, u))


@needs_numba
def test_bucket_kernel_equals_numpy():
    """Rule: the ids whose low bits are marked are found the same way (in table order)."""
    rng = np.random.default_rng(9)
    existing = rng.integers(0, 2**62, 100_000)
    mask = np.uint64((1 << 16) - 1)
    table = np.zeros(1 << 16, bool)
    table[rng.integers(0, 1 << 16, 500)] = True
    assert _same(kernels._bucket_members_nb(existing, table, mask),
                 kernels.bucket_members_numpy(existing, table, mask))


@needs_numba
def test_gather_kernel_equals_numpy(persons):
    """Rule: a household column read per person is the same both ways, dtype included."""
    hh, _, _, _, n_hh = persons
    rng = np.random.default_rng(10)
    for col in (rng.random(n_hh) < 0.5, rng.integers(-5, 1000, n_hh).astype(np.int32),
                rng.integers(0, 2**62, n_hh), rng.integers(0, 100, n_hh).astype(np.int16)):
        for idx in (hh, hh.astype(np.int64), hh[:0], (hh % 3000).astype(np.int16)):
            assert _same(kernels._gather_nb(col, idx), kernels.gather_numpy(col, idx))
            assert _same(kernels.gather(col, idx), col[idx])
    with pytest.raises(IndexError):
        kernels.gather(np.zeros(3), np.array([3], np.int32))


def test_numpy_twins_follow_their_definitions(persons):
    """Rule: the numpy twins compute what their docstrings say (checked by plain loops)."""
    hh, age, child, _, n_hh = persons
    head = kernels.head_age_numpy(hh, age, child, n_hh)
    for h in range(0, n_hh, 97):
        a = age[hh == h]
        adults = age[(hh == h) & ~child]
        assert head[h] == (adults.max() if len(adults) else max(a.max(), 0))
    rows, alive, new = kernels.compact_rows_numpy(age > 50, hh, n_hh)
    assert np.array_equal(rows, np.flatnonzero(age > 50))
    assert np.array_equal(alive, np.isin(np.arange(n_hh), hh[age > 50]))
    assert np.array_equal(new[alive], np.arange(alive.sum())) and (new[~alive] == -1).all()


@pytest.mark.slow
@needs_numba
def test_model_is_identical_with_and_without_compiled_kernels(monkeypatch):
    """Rule: a run's records and final population are byte-identical with numba on or off."""
    from sim import model
    from sim.model import RegionModel
    from sim.params import Parameters

    def run():
        m = RegionModel(Parameters(scale=0.03, end_year=2025), seed=11)
        m.run()
        return m

    fast = run()
    monkeypatch.setattr(kernels, "ENABLED", False)
    monkeypatch.setattr(model, "_SPIN_UPS", {})  # the spin-up too, without the kernels
    slow = run()
    assert fast.place_year().equals(slow.place_year())
    assert fast.region_year().equals(slow.region_year())
    for table in ("households", "persons"):
        a, b = getattr(fast.pop, table), getattr(slow.pop, table)
        for f in fields(a):
            assert _same(getattr(a, f.name), getattr(b, f.name)), (table, f.name)
