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


def _one_row_draw(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Destinations of choosers from outside (kernel of ones) for one weight row."""
    n = len(weights)
    kernels = distance_kernels(np.zeros((n, n), np.float32), np.zeros(4))
    attract = np.zeros((16, kernels.shape[2]), np.float32)
    attract[0, :n] = weights
    return relocation.draw_destinations(np.full(len(u), -1), np.zeros(len(u), np.int64),
                                        kernels, np.repeat(np.arange(4), 4), attract, u)


@pytest.mark.parametrize("first", [0, 240])
def test_draw_at_a_block_edge_returns_a_place_with_weight(first):
    """Rule: a uniform in the float32 gap between a block's total (a pairwise sum) and the end
    of its running sum still gives a column of that block with weight, never the first column
    of the next block (a place without vacancies) nor one past the end.

    The block [1, 1e-8 x 15] (n = 256, 16 columns a block) has the pairwise total 1 + 1.2e-7
    but the running sum 1 (each 1e-8 is lost in float32): every uniform above 1 / total used
    to land in the next block (``first=0``: column 16, weight 0) or past the end
    (``first=240``: column 256, IndexError in ``accept``).
    """
    n = 256
    w = np.zeros(n, np.float32)
    w[first] = 1.0
    w[first + 1:first + 16] = 1e-8
    total = float(w.reshape(16, 16).sum(axis=1).astype(np.float64).sum())
    assert total > 1.0  # the gap exists in float32
    u = np.concatenate([np.linspace(1.0 / total - 1e-9, 1.0 - 2.0 ** -32, 2000),
                        [np.nextafter(1.0, 0.0)]])
    d = _one_row_draw(w, u)
    assert ((d >= 0) & (d < n)).all(), d.max()
    assert (w[d] > 0).all(), np.unique(d[w[d] <= 0])
    assert (d[u * total >= 1.0] == first).all()  # the gap belongs to the block's last weight


def test_draw_aimed_at_every_block_boundary_stays_on_weighted_places():
    """Rule: uniforms aimed at every block boundary (a few ulps either side) of rows with
    zero-weight columns and blocks give only places with positive weight."""
    rng = np.random.default_rng(11)
    n = 300
    for _ in range(20):
        w = rng.lognormal(0, 3, n).astype(np.float32)
        w[rng.random(n) < 0.5] = 0.0
        w[-20:] = 0.0
        b = relocation.block_size(n)
        npad = -(-n // b) * b
        wp = np.zeros(npad, np.float32)
        wp[:n] = w
        bcum = np.cumsum(wp.reshape(-1, b).sum(axis=1), dtype=np.float64)
        edges = bcum / bcum[-1]
        u = (edges[:, None] + np.arange(-8, 9)[None, :] * 2.0 ** -52).ravel()
        u = np.clip(u, 0.0, np.nextafter(1.0, 0.0))
        d = _one_row_draw(w, u)
        assert ((d >= 0) & (d < n)).all() and (w[d] > 0).all()


@pytest.mark.parametrize("n", [7, 60, 300])
def test_draw_equals_the_exact_logit_over_seeds(n):
    """Rule: over 12 seeds (weights with zero columns, origins and segments drawn per seed),
    the two-level draw has the exact logit probabilities: the summed chi-square statistic
    (its degrees of freedom summed) is not significant at 1e-4."""
    from scipy import stats

    chi2_sum, dof = 0.0, 0
    for seed in range(12):
        _dist, kernels, values, vacant = _setup(n=n, seed=seed)
        rng = np.random.default_rng(100 + seed)
        vacant = np.where(rng.random(n) < 0.3, 0, vacant)
        vacant[rng.integers(n)] = max(vacant.max(), 1)
        npad = kernels.shape[2]
        expv = np.zeros((16, npad), np.float32)
        expv[:, :n] = np.exp(values - values.max(axis=1, keepdims=True)) * vacant
        origin, seg = int(rng.integers(-1, n)), int(rng.integers(16))
        draws = 20_000 * max(1, n // 30)
        d = relocation.draw_destinations(np.full(draws, origin), np.full(draws, seg), kernels,
                                         np.repeat(np.arange(4), 4), expv, rng)
        p = _exact_probs(origin, seg, kernels, values, vacant)
        assert (p[d] > 0).all()
        obs = np.bincount(d, minlength=n).astype(float)
        exp = draws * p
        big = exp >= 5  # cells expecting fewer than 5 draws are pooled into one
        obs = np.append(obs[big], obs[~big].sum())
        exp = np.append(exp[big], exp[~big].sum())
        keep = exp > 0
        chi2_sum += ((obs[keep] - exp[keep]) ** 2 / exp[keep]).sum()
        dof += int(keep.sum()) - 1
    assert stats.chi2.sf(chi2_sum, dof) > 1e-4, (chi2_sum, dof)


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


def test_numpy_draw_is_the_same_raced_in_runs_of_choosers(monkeypatch):
    """Rule: racing a chunk's choosers in runs (bounded memory) gives the same draws."""
    from sim import kernels as compiled

    monkeypatch.setattr(compiled, "ENABLED", False)
    _dist, kernels, values, vacant = _setup(n=300, seed=5)
    expv = np.zeros((16, kernels.shape[2]), np.float32)
    expv[:, :300] = np.exp(values - values.max(axis=1, keepdims=True)) * vacant
    rng = np.random.default_rng(3)
    origin, seg, u = rng.integers(-1, 3, 6000), rng.integers(0, 16, 6000), rng.random(6000)
    out = []
    for run in (10**9, 97):  # all at once, and in runs smaller than a chunk's choosers
        monkeypatch.setattr(relocation, "RACE_CHUNK", run)
        out.append(relocation.draw_destinations(origin, seg, kernels, np.repeat(np.arange(4), 4),
                                                expv, u, 1))
    assert (out[0] == out[1]).all()


def test_move_probability_computed_in_place_equals_its_formula():
    """Rule: the in-place moving probability is bit for bit rate * 2 / (1 + exp(-g * d))."""
    rng = np.random.default_rng(6)
    stage = rng.integers(0, 4, 10_000)
    v_home, logsum = rng.normal(size=10_000), rng.normal(size=10_000)
    rate = np.array([0.2, 0.1, 0.1, 0.05])
    got = relocation.move_probability(stage, v_home, logsum, rate, 1.7)
    want = np.clip(rate[stage] * (2.0 / (1.0 + np.exp(-1.7 * (logsum - v_home)))), 0.0, 1.0)
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()


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


def test_demand_per_vacancy_is_the_expected_first_choices_per_vacancy_and_scale_free():
    """Rule: demand_per_vacancy gives, for every place, the expected first-round choices per
    vacant dwelling: times the vacancies it equals the mean of many first-round draws, it is
    defined where a place has no vacancy, and doubling every chooser group and vacancy (a
    larger scale) leaves it unchanged."""
    _dist, kernels, values, vacant = _setup(n=60, seed=4)
    vacant = vacant.astype(float)
    vacant[[3, 7]] = 0
    rng = np.random.default_rng(5)
    origin = rng.integers(0, 60, 400)
    seg = rng.integers(0, 16, 400)
    stage = np.repeat(np.arange(4), 4)
    q = relocation.demand_per_vacancy(origin, seg, kernels, stage, values, vacant)
    assert (q[[3, 7]] > 0).all()
    expv = np.zeros((16, kernels.shape[2]), np.float32)
    expv[:, :60] = np.exp(values - values.max(axis=1, keepdims=True)) * vacant
    draws = [np.bincount(relocation.draw_destinations(origin, seg, kernels, stage, expv,
                                                       np.random.default_rng(s)),
                         minlength=60) for s in range(300)]
    np.testing.assert_allclose(np.mean(draws, axis=0), q * vacant, rtol=0.12, atol=0.6)
    q2 = relocation.demand_per_vacancy(np.repeat(origin, 2), np.repeat(seg, 2), kernels, stage,
                                       values, 2 * vacant)
    np.testing.assert_allclose(q2, q, rtol=1e-5)


def test_thinning_variance_is_the_variance_a_smaller_sample_adds_to_demand():
    """Rule: drawing each chooser with probability s from a large population (a run at scale
    s, vacancies scaled alike) spreads q_j with variance (1 - s) times the thinning variance
    demand_signal reports; the empirical variance over 1,000 thinnings matches it within 20 %
    at every place with the larger half of the variances and within 5 % in the median, and q
    stays unbiased."""
    _dist, kernels, values, _vacant = _setup(n=40, seed=6)
    rng = np.random.default_rng(7)
    origin = rng.integers(0, 40, 20000)
    seg = rng.integers(0, 16, 20000)
    stage = np.repeat(np.arange(4), 4)
    vacant = rng.integers(200, 2000, 40).astype(float)
    full = relocation.demand_signal(origin, seg, kernels, stage, values, vacant)
    s = 0.05
    qs, tv = [], []
    for _ in range(1000):
        keep = rng.random(len(origin)) < s
        sig = relocation.demand_signal(origin[keep], seg[keep], kernels, stage, values,
                                       vacant * s)
        qs.append(sig.per_vacancy)
        tv.append(sig.thinning_variance)
    qs = np.array(qs)
    predicted = (1 - s) * np.mean(tv, axis=0)
    empirical = qs.var(axis=0)
    top = predicted >= np.percentile(predicted, 50)
    np.testing.assert_allclose(empirical[top], predicted[top], rtol=0.2)
    assert np.median(empirical[top] / predicted[top]) == pytest.approx(1.0, abs=0.05)
    np.testing.assert_allclose(qs.mean(axis=0), full.per_vacancy, rtol=0.03)
    # at scale 1 the formula describes the full sample: 20x smaller than the thinned one
    np.testing.assert_allclose(full.thinning_variance * 20, np.mean(tv, axis=0), rtol=0.05)


def test_demand_weighted_by_the_chance_of_choosing_is_the_realised_demand_in_expectation():
    """Rule: counting every household by its chance of choosing (its moving probability)
    gives the mean of the demand of the households that draw to move (q is linear in the
    group counts), with far less spread than one year's draw; unit weights are the plain
    counts; and the thinning variance of the weighted demand (the squared weights) is the
    variance that a run at scale s adds to it (within 20 % at the larger half of the places,
    5 % in the median)."""
    _dist, kernels, values, _vacant = _setup(n=40, seed=8)
    rng = np.random.default_rng(9)
    n_hh = 20000
    origin = rng.integers(0, 40, n_hh)
    seg = rng.integers(0, 16, n_hh)
    stage = np.repeat(np.arange(4), 4)
    vacant = rng.integers(200, 2000, 40).astype(float)
    chance = rng.uniform(0.02, 0.3, n_hh)
    expected = relocation.demand_signal(origin, seg, kernels, stage, values, vacant,
                                        weight=chance)
    plain = relocation.demand_signal(origin, seg, kernels, stage, values, vacant)
    ones = relocation.demand_signal(origin, seg, kernels, stage, values, vacant,
                                    weight=np.ones(n_hh))
    np.testing.assert_allclose(ones.per_vacancy, plain.per_vacancy, rtol=1e-6)
    np.testing.assert_allclose(ones.thinning_variance, plain.thinning_variance, rtol=1e-6)
    realised = np.array([
        relocation.demand_signal(origin[m], seg[m], kernels, stage, values, vacant).per_vacancy
        for m in (rng.random(n_hh) < chance for _ in range(400))])
    np.testing.assert_allclose(realised.mean(axis=0), expected.per_vacancy, rtol=0.02)
    # the weighted demand has no draw noise at all: the realised one spreads around it
    assert (realised.std(axis=0) > 0.02 * expected.per_vacancy).all()
    s = 0.05
    qs, tv = [], []
    for _ in range(1000):
        keep = rng.random(n_hh) < s
        sig = relocation.demand_signal(origin[keep], seg[keep], kernels, stage, values,
                                       vacant * s, weight=chance[keep])
        qs.append(sig.per_vacancy)
        tv.append(sig.thinning_variance)
    predicted = (1 - s) * np.mean(tv, axis=0)
    empirical = np.var(qs, axis=0)
    top = predicted >= np.percentile(predicted, 50)
    np.testing.assert_allclose(empirical[top], predicted[top], rtol=0.2)
    assert np.median(empirical[top] / predicted[top]) == pytest.approx(1.0, abs=0.05)
    np.testing.assert_allclose(np.mean(qs, axis=0), expected.per_vacancy, rtol=0.03)


def test_the_model_demand_signal_does_not_depend_on_the_years_moving_draws(monkeypatch):
    """Rule: on the calibrated defaults, the demand signal prices and construction follow is
    the expectation over the year's moving draws (every household weighted by its moving
    probability): replacing the moving draws by other uniforms changes who moves, but not
    the demand per vacancy nor its spread."""
    from sim.model import RegionModel
    from sim.params import default_parameters
    from sim.relocation import Relocation

    p = default_parameters().with_overrides(scale=0.03, end_year=2023)
    seen = []
    real_run = Relocation.run

    def recording(self, *args, **kwargs):
        out = real_run(self, *args, **kwargs)
        seen.append(out)
        return out

    monkeypatch.setattr(Relocation, "run", recording)
    RegionModel(p, seed=4).step()
    monkeypatch.setattr(relocation.draws, "MOVE_DECISION",
                        relocation.draws.Draw("relocation", 31, "other moving draws"))
    RegionModel(p, seed=4).step()
    a, b = seen[-2], seen[-1]
    assert a.moves.moves != b.moves.moves or not np.array_equal(a.in_movers, b.in_movers)
    np.testing.assert_allclose(b.demand_per_vacancy, a.demand_per_vacancy, rtol=1e-6)
    np.testing.assert_allclose(b.demand_variance, a.demand_variance, rtol=1e-6)
    assert (a.demand_variance > 0).any()


def test_choice_rows_into_buffers_equal_the_plain_product_and_check_their_rows():
    """Rule: the buffered weight rows are bit for bit kernel row x attraction; bad rows raise."""
    _dist, kernels, values, vacant = _setup(n=50, seed=7)
    attract = np.zeros((16, kernels.shape[2]), np.float32)
    attract[:, :50] = np.exp(values - values.max(axis=1, keepdims=True)) * vacant
    rng = np.random.default_rng(8)
    origins, segs = rng.integers(-1, 50, 40), rng.integers(0, 16, 40)
    stage = np.repeat(np.arange(4), 4)
    buf, scratch = np.empty((64, kernels.shape[2]), np.float32), np.empty((64, kernels.shape[2]),
                                                                         np.float32)
    got = relocation.choice_rows(origins, segs, kernels, stage, attract, out=buf, scratch=scratch)
    want = relocation.choice_rows(origins, segs, kernels, stage, attract)
    assert got.tobytes() == want.tobytes()
    with pytest.raises(IndexError):
        relocation.choice_rows(np.array([51]), np.array([15]), kernels, stage, attract,
                               out=buf, scratch=scratch)  # past the last stage's rows
