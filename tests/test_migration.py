"""Migration across the region's border: rates by age band and municipality from the data.

Run on the calibrated defaults (what users run), at small scale.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import migration, migration_rates
from sim.model import RegionModel
from sim.params import Parameters, default_parameters
from sim.rng import IN_MIGRANT_TEMPLATE

PARAMS = default_parameters().with_overrides(scale=0.1, end_year=2024)


@pytest.fixture(scope="module")
def model() -> RegionModel:
    m = RegionModel(PARAMS, seed=3)
    m.results = []
    for _ in range(3):
        n_before = len(m.pop.households)
        persons_before = m.pop.persons.age.copy(), m.pop.households.place.copy()
        m.step()
        m.results.append((n_before, persons_before))
    return m


def test_out_migration_level_and_age_shape():
    """Rule: the expected persons leaving per resident equal migration.out_level, and the
    household's chance follows the Rogers-Castro schedule at the head's age (highest in the
    early twenties, lowest around 60)."""
    m = RegionModel(PARAMS, seed=3)
    p = m.border.out_probability(m.pop.head_age())
    expected = (p * m.pop.size()).sum() / len(m.pop.persons)
    assert expected == pytest.approx(PARAMS.migration.out_level, rel=1e-9)
    ages = np.array([22, 30, 45, 60, 75])
    q = m.border.out_probability(ages)
    assert q[0] == q.max() and q[0] > 3 * q[3]


def test_in_migrant_copies_match_the_band_targets_on_average():
    """Rule: the template copies' expected persons per band equal the target (non-negative
    least squares is exact when the target is reachable: here 5% of the region's own
    persons per band), and a household is copied floor(e) or floor(e)+1 times."""
    m = RegionModel(PARAMS, seed=3)
    pop = m.pop
    hh = pop.households
    target = 0.05 * np.bincount(migration.band_of(pop.persons.age), minlength=7)
    draws = [migration.template_copies(pop, hh.housed, target,
                                       m.streams.uniform(IN_MIGRANT_TEMPLATE, hh.key, year))
             for year in range(2030, 2060)]
    band = migration.band_of(pop.persons.age)
    got = np.mean([np.bincount(band, weights=c[pop.persons.hh], minlength=7) for c in draws],
                  axis=0)
    np.testing.assert_allclose(got, target, rtol=0.03)
    spread = np.ptp(np.stack(draws), axis=0)
    assert spread.max() <= 1


def test_arrivals_enter_through_the_municipalities_of_the_data():
    """Rule: in-migrant households enter through municipalities drawn by their head's band
    from the data's destinations: most households headed 20-34 enter through Aarhus, and
    Aarhus takes a smaller share of households headed 35-64."""
    m = RegionModel(PARAMS, seed=3)
    codes = m.border.municipalities
    aarhus = int(np.flatnonzero(codes == 751)[0])
    n = 20000
    u1 = np.random.default_rng(0).random(n)
    u2 = np.random.default_rng(1).random(n)
    muni = m.world.places["municipality_code"].to_numpy()
    young = muni[m.border.entry_places(np.full(n, 3), u1, u2)] == 751
    middle = muni[m.border.entry_places(np.full(n, 4), u1, u2)] == 751
    share = np.diff(np.concatenate([[0.0], m.border.entry_cdf[3]]))[aarhus]
    assert young.mean() == pytest.approx(share, abs=0.02)
    assert young.mean() > 0.5 > middle.mean()


def test_region_grows_by_the_observed_net_border_migration_and_natural_balance():
    """Rule: over the first years the region's yearly growth is the data's net border rate
    plus the natural balance: between the lowest and highest observed year (2016-2020)
    rates of growth."""
    m = RegionModel(PARAMS.with_overrides(end_year=2026), seed=3)
    m.run()
    pop = m.region_year()["population"].to_numpy(float)
    growth = (pop[-1] / pop[0]) ** (1 / 5) - 1
    lo = min(migration.observed_growth_rate(y, y + 1) for y in range(2016, 2021))
    hi = max(migration.observed_growth_rate(y, y + 1) for y in range(2016, 2021))
    assert lo - 0.001 < growth < hi + 0.001, (growth, lo, hi)


def test_future_level_orders_low_central_high():
    """Rule: the labelled scenario levels order the region's net border migration."""
    rates = {lvl: RegionModel(PARAMS.with_overrides(migration={"future_level": lvl},
                                                    end_year=2022), seed=3).border.net_rate
             for lvl in ("low", "central", "high")}
    total = {k: v.sum() for k, v in rates.items()}
    assert total["low"] < total["central"] < total["high"]


def test_historical_runs_must_name_observed_flow_years():
    """Rule: a base year whose five preceding years are not observed needs explicit
    migration.net_years, with a message naming the setting."""
    with pytest.raises(ValueError, match=r"migration\.net_years"):
        migration.flow_years(Parameters(base_year=2014, end_year=2018))
    p = Parameters(base_year=2014, end_year=2018, migration={"net_years": (2016, 2017)})
    assert migration.flow_years(p) == (2016, 2017)
    with pytest.raises(ValueError, match="start years 2016-2022"):
        Parameters(migration={"net_years": (2015, 2017)})


def test_same_seed_same_arrivals():
    """Rule: arrivals are keyed draws: the same seed gives the same in-migrants."""
    a, b = (RegionModel(PARAMS.with_overrides(end_year=2022), seed=5) for _ in range(2))
    a.step()
    b.step()
    assert a.place_year().equals(b.place_year())


def test_residual_band_rates_are_what_the_model_uses():
    """Rule: the run's net rates are the data's mean band rates of the flow years."""
    m = RegionModel(PARAMS.with_overrides(end_year=2022), seed=3)
    res = migration_rates.cohort_residuals(params=PARAMS.demography)
    ex = migration_rates.border_exchange(res)
    ex = ex[ex["year"].between(*m.border.years)]
    mean = ex.groupby("band")["net_rate"].mean().reindex(list(migration_rates.BAND_NAMES))
    np.testing.assert_allclose(m.border.net_rate, mean.to_numpy(), rtol=1e-9)


def test_band_counts_equal_the_count_of_each_persons_band():
    """Rule: persons per age band counted by single age equal the count of their bands."""
    rng = np.random.default_rng(12)
    for age in (rng.integers(0, 111, 50_000).astype(np.int16), np.array([], np.int16),
                np.array([0, 5, 6, 130, 200])):
        want = np.bincount(migration.band_of(age), minlength=len(migration.BAND_LOWS))
        got = migration.band_counts(age)
        assert got.dtype == want.dtype and np.array_equal(got, want)
