"""Migration rates from cohort residuals: recovery on synthetic data, accounts on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import data
from sim import migration_rates as mr
from sim.demography import load_rates
from sim.params import DemographyParams

BANDS = list(mr.BAND_NAMES)
AGES = np.arange(mr.MAX_AGE + 1)


def _profile_table(codes):
    """A synthetic 2014 single-year table: a smooth, different shape per municipality."""
    rows = []
    for k, code in enumerate(codes):
        for sex in ("m", "f"):
            for a in AGES:
                n = 1000 * np.exp(-a / (55 + 10 * k)) * (1.1 if sex == "f" else 1.0) + 5
                rows.append((code, sex, int(a), float(n)))
    return pd.DataFrame(rows, columns=["municipality_code", "sex", "age", "population"])


def _reference_projection(single, rates, year, params):
    """Independent loop implementation of one year without migration (the model's rules)."""
    improve = (1 - params.mortality_improvement) ** max(year - params.mortality_year, 0)
    surv = np.zeros_like(single)
    births = 0.0
    for s in (0, 1):
        for a in AGES:
            new = min(a + 1, mr.MAX_AGE)
            alive = single[s, a] * (1 - min(rates.death[s, new] * improve, 1.0))
            surv[s, new] += alive
            if s == 1:
                births += alive * rates.birth[new]
    return surv, births


def _synthetic_bands(codes, years, true_rate, age_sex, params):
    """FOLK1A-like band stocks generated with known net migration rates per band.

    Each 1 January stock is shared out within bands like the estimator's profile (the
    assumption the estimator makes), projected with the reference loop and given
    ``true_rate[b] * expected`` net migrants in band b.
    """
    rates = load_rates(params)
    band = mr.band_of_age(AGES)
    rows = []
    for k, code in enumerate(codes):
        stock = np.array([6000, 11000, 3000, 16000, 34000, 12000, 3500], float) * (1 + k)
        for t in years:
            rows.append({"municipality_code": code, "municipality": f"M{code}", "year": t,
                         "total": stock.sum(), **dict(zip(BANDS, stock, strict=True))})
            if t == years[-1]:
                break
            single = mr.split_bands(stock, mr.single_year_profile(code, t, age_sex=age_sex))
            surv, births = _reference_projection(single, rates, t + 1, params)
            expected = np.bincount(band, weights=surv.sum(0), minlength=len(BANDS))
            expected[0] += births
            stock = expected * (1 + true_rate)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def residuals():
    return mr.cohort_residuals()


def test_residuals_recover_known_migration_rates_on_synthetic_data():
    """Rule: when the stocks were made with known net rates per band, the estimator returns
    them (to rounding), for every municipality and year."""
    params = DemographyParams()
    codes, years = (1, 2), list(range(2016, 2021))
    true_rate = np.array([0.02, -0.01, 0.03, 0.04, -0.005, 0.001, -0.002])
    age_sex = _profile_table(codes)
    bands = _synthetic_bands(codes, years, true_rate, age_sex, params)
    r = mr.cohort_residuals(bands, params=params, age_sex=age_sex)
    assert len(r) == len(codes) * (len(years) - 1) * len(BANDS)
    got = r.pivot_table(index=["municipality_code", "year"], columns="band",
                        values="net_rate")[BANDS].to_numpy()
    np.testing.assert_allclose(got, np.broadcast_to(true_rate, got.shape), atol=1e-10)


def test_zero_migration_gives_zero_residuals():
    """Rule: stocks that evolve only by the model's births and deaths leave no residual."""
    params = DemographyParams()
    age_sex = _profile_table((5,))
    bands = _synthetic_bands((5,), [2016, 2017, 2018], np.zeros(7), age_sex, params)
    r = mr.cohort_residuals(bands, params=params, age_sex=age_sex)
    assert np.abs(r["net_migration"]).max() < 1e-6


def test_moves_between_municipalities_cancel_in_the_border_exchange():
    """Rule: migrants who only move between the region's municipalities are no border flow."""
    params = DemographyParams()
    age_sex = _profile_table((1, 2))
    bands = _synthetic_bands((1, 2), [2016, 2017], np.zeros(7), age_sex, params)
    moved = bands.copy()
    end = moved["year"] == 2017
    moved.loc[end & (moved["municipality_code"] == 1), "a20_34"] -= 500
    moved.loc[end & (moved["municipality_code"] == 2), "a20_34"] += 500
    r = mr.cohort_residuals(moved, params=params, age_sex=age_sex)
    by_muni = r[r["band"] == "a20_34"].set_index("municipality_code")["net_migration"]
    assert by_muni[1] == pytest.approx(-500) and by_muni[2] == pytest.approx(500)
    assert np.abs(mr.border_exchange(r)["net_migration"]).max() < 1e-6


def test_real_data_satisfy_the_accounting_identity(residuals):
    """Rule: stock(t+1) = survivors + births + net migration in every municipality, band and
    year (by construction), and the region's growth = natural balance + border migration."""
    r = residuals
    assert len(r) == 19 * 7 * 7
    np.testing.assert_allclose(r["stock_end"], r["survivors"] + r["births"]
                               + r["net_migration"], atol=1e-6)
    assert (r.loc[r["band"] != "a0_5", "births"] == 0).all()
    bal = mr.region_balance(r)
    np.testing.assert_allclose(bal["growth"], bal["natural_balance"] + bal["net_migration"],
                               atol=1e-6)
    obs = data.municipal_population().groupby("year")["population_1jan"].sum()
    np.testing.assert_allclose(bal["population_end"], obs.reindex(bal["year"] + 1), rtol=0)


def test_projection_matches_an_independent_implementation():
    """Rule: ageing, survival (at the new age, with the year's improvement) and births follow
    the model's demography, checked against a plain loop."""
    params = DemographyParams()
    rates = load_rates(params)
    rng = np.random.default_rng(3)
    single = rng.uniform(0, 100, (2, mr.MAX_AGE + 1))
    surv, births, deaths = mr.project_one_year(single, rates, 2019, params)
    ref_surv, ref_births = _reference_projection(single, rates, 2019, params)
    np.testing.assert_allclose(surv, ref_surv)
    assert births == pytest.approx(ref_births)
    assert (surv + deaths).sum() == pytest.approx(single.sum())


def test_cohort_profile_shifts_2014_cohorts_by_the_elapsed_years():
    """Rule: the split for year t uses the 2014 cohort now aged a, i.e. 2014's age a-(t-2014);
    ages born after 2014 take the 2014 count at age 0; the open age 110 keeps the cohorts
    shifted past it."""
    p14 = mr.single_year_profile(751, 2014)
    p18 = mr.single_year_profile(751, 2018)
    np.testing.assert_allclose(p18[:, 30], p14[:, 26])
    np.testing.assert_allclose(p18[:, 2], p14[:, 0])
    np.testing.assert_allclose(p18[:, 110], p14[:, 106:].sum(axis=1))
    static = mr.single_year_profile(751, 2018, how="static")
    np.testing.assert_allclose(static, p14)


def test_split_keeps_every_band_total():
    """Rule: splitting into single years never changes a band's stock."""
    stock = np.array([10, 20, 30, 40, 50, 60, 70], float)
    single = mr.split_bands(stock, mr.single_year_profile(615, 2020))
    got = np.bincount(mr.band_of_age(AGES), weights=single.sum(0), minlength=7)
    np.testing.assert_allclose(got, stock)


def test_border_exchange_is_the_sum_over_municipalities(residuals):
    """Rule: the region's band net migration is the sum of the municipal residuals."""
    ex = mr.border_exchange(residuals)
    s = residuals.groupby(["year", "band"])["net_migration"].sum()
    got = ex.set_index(["year", "band"])["net_migration"]
    np.testing.assert_allclose(got.sort_index(), s.sort_index())
    bal = mr.region_balance(residuals).set_index("year")["net_migration"]
    np.testing.assert_allclose(ex.groupby("year")["net_migration"].sum(), bal)


def test_region_gains_young_adults_across_its_border_every_year(residuals):
    """Rule (data): the region gains 20-34-year-olds from outside in every observed year
    (students and young workers), the largest band gain in most years."""
    ex = mr.border_exchange(residuals)
    young = ex[ex["band"] == "a20_34"].set_index("year")["net_migration"]
    assert (young > 0).all()
    top = ex.loc[ex.groupby("year")["net_migration"].idxmax(), "band"]
    assert (top == "a20_34").sum() >= 4


def test_gross_flows_add_up_to_the_net_and_follow_the_assumed_level(residuals):
    """Rule: in - out = net in every year and band, flows are never negative, and the
    all-ages out-migration rate equals the assumed level where no band was raised."""
    g = mr.gross_border_flows(residuals)
    np.testing.assert_allclose(g["in_migration"] - g["out_migration"], g["net_migration"])
    assert (g[["in_migration", "out_migration"]] >= -1e-9).all().all()
    assert not g["out_raised"].any()
    # young adults leave most, the old least (Rogers-Castro shape)
    rate = g[g["year"] == 2019].set_index("band")["out_rate"]
    assert rate.idxmax() == "a20_34" and rate["a80p"] < rate["a35_64"]
    lo = mr.gross_border_flows(residuals, level=mr.OUT_LEVEL_RANGE[0])
    assert (lo["out_migration"] <= g["out_migration"] + 1e-9).all()


def test_rogers_castro_has_its_labour_peak_near_twenty_two():
    """Rule: the fundamental schedule peaks at young-adult ages and flattens to c when old."""
    m = mr.rogers_castro(AGES)
    assert 18 <= int(np.argmax(m[10:])) + 10 <= 26
    assert m[100] == pytest.approx(mr.ROGERS_CASTRO_FUNDAMENTAL["c"], rel=0.05)


def test_inmigrant_destinations_are_shares_with_students_towards_aarhus(residuals):
    """Rule: destination shares sum to one per band, profiles to one per municipality;
    Aarhus takes the largest share of 20-34-year-old in-migrants, and its in-migrants are
    mostly 20-34, while families (0-5) go elsewhere."""
    d = mr.inmigrant_destinations(residuals)
    np.testing.assert_allclose(d.groupby("band")["share"].sum(), 1.0)
    np.testing.assert_allclose(d.groupby("municipality_code")["profile"].sum(), 1.0)
    young = d[d["band"] == "a20_34"].set_index("municipality")["share"]
    assert young.idxmax() == "Aarhus" and young["Aarhus"] > 0.4
    aarhus = d[d["municipality"] == "Aarhus"].set_index("band")["profile"]
    assert aarhus.idxmax() == "a20_34"
    kids = d[d["band"] == "a0_5"].set_index("municipality")["share"]
    assert kids["Aarhus"] < kids.drop("Aarhus").max()


def test_future_scenarios_span_the_observed_range_and_say_they_are_assumptions(residuals):
    """Rule: low <= central <= high; low and high are the extreme observed years; every row
    is labelled as an assumption."""
    sc = mr.future_migration_scenarios(residuals)
    tot = sc.groupby("scenario")["all_ages_rate"].first()
    bal = mr.region_balance(residuals)
    assert tot["low"] == pytest.approx(bal["net_rate"].min())
    assert tot["high"] == pytest.approx(bal["net_rate"].max())
    assert tot["low"] <= tot["central"] <= tot["high"]
    assert sc["basis"].str.startswith("assumption").all()
    no_ukraine = mr.future_migration_scenarios(residuals, years=(2016, 2021))
    assert no_ukraine.groupby("scenario")["all_ages_rate"].first()["high"] < tot["high"]


def test_central_out_level_contains_the_quoted_national_emigration_rate():
    """Rule: the central gross out-migration level is at least the national emigration rate
    quoted from DST (1.28 % in 2019) and lies inside its stated range."""
    e = mr.national_emigration_rate(2019)
    assert e == pytest.approx(74_597 / 5_806_081)
    assert mr.OUT_LEVEL_RANGE[0] <= mr.OUT_LEVEL <= mr.OUT_LEVEL_RANGE[1]
    assert mr.OUT_LEVEL > e
