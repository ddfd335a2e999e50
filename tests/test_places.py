"""Places: parishes split into towns and open countryside, with documented estimates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import data
from sim.checks import forum_figures
from sim.places import (
    BY3_YEAR,
    NAME_ALIASES,
    QUOTE_WINDOW,
    backcast_factor,
    build_places,
    interpolate_geometric,
    national_countryside_share,
    settlement_class,
)


@pytest.fixture(scope="module")
def built():
    return build_places()


def test_parish_allocation_adds_up_to_every_parish_population(built):
    """Rule: the people of every parish are split over its places, none lost or invented."""
    par = data.parishes().set_index("parish_code")["population"]
    per_parish = built.allocation.groupby("parish_code")["persons"].sum()
    diff = per_parish.reindex(par.index).fillna(0) - par
    assert np.abs(diff).max() < 1e-6


def test_place_totals_equal_municipal_and_regional_totals(built):
    """Rule: rounding to whole persons keeps every municipal total exact."""
    par = data.parishes()
    got = built.places.groupby("municipality_code")["population"].sum()
    want = par.groupby("municipality_code")["population"].sum()
    assert (got.sort_index() == want.sort_index()).all()
    assert built.places["population"].sum() == par["population"].sum()


def test_estimated_towns_never_exceed_their_parish(built):
    """Rule: a town estimated by the share f is a share of its parish's remainder, never more."""
    p = built.places
    par = data.parishes().set_index("parish_code")["population"]
    est = p[(p["kind"] == "town") & p["pop_source"].str.startswith("estimated: share")]
    assert len(est) > 100
    assert (est["population"].to_numpy() <= par.loc[est["parish_code"]].to_numpy()).all()
    assert est["pop_source"].str.startswith("estimated").all()


def test_known_towns_keep_source_and_year(built):
    """Rule: every non-estimated town states where its figure comes from."""
    p = built.places
    known = p[(p["kind"] == "town") & ~p["estimated"]]
    assert len(known) > 120  # dated DST quotes and GeoNames (BY3 estimates are flagged)
    assert (known["pop_source"].str.len() > 0).all()
    aarhus = known[known["name"] == "Aarhus"].iloc[0]
    assert aarhus["population"] > 250_000 and "DST" in aarhus["pop_source"]


def test_share_in_small_places_matches_the_fitted_national_share(built):
    """Rule: f is fitted so that people in places under 200 equal Denmark's 2019 share."""
    p = built.places
    pop = p["population"].to_numpy()
    small = (p["kind"] == "countryside").to_numpy() | (pop < 200)
    share = pop[small].sum() / pop.sum()
    assert share == pytest.approx(national_countryside_share(), abs=0.005)
    assert 0 < built.town_share_of_remainder < 1


def test_initial_state_against_the_forum_figures(built, capsys):
    """Rule: the start is within 15% of the forum's ~700,000 and ~350,000.

    The forum's figures are rounded and refer to a later year (about 1.37 million people);
    the figures printed here go into the closing note.
    """
    fig = forum_figures(built.places)
    print(fig)
    assert abs(fig["countryside_and_towns_under_10000"] / 700_000 - 1) < 0.15
    assert abs(fig["countryside_and_towns_under_2000"] / 350_000 - 1) < 0.15


def test_settlement_classes_follow_dst_thresholds():
    """Rule: under 200 inhabitants (or countryside) is class 0; 10,000+ is the top class."""
    pop = np.array([50, 199, 200, 499, 500, 1999, 2000, 9999, 10000, 5000])
    cls = settlement_class(pop, np.array([False] * 9 + [True]))
    assert cls.tolist() == [0, 0, 1, 1, 2, 3, 4, 5, 6, 0]


def _by3_rows(built):
    """The place row of each BY3 town (the biggest copy of a duplicated name)."""
    towns = built.places[built.places["kind"] == "town"]
    towns = towns.sort_values("population", ascending=False).drop_duplicates(
        ["name", "municipality_code"])
    by3 = data.town_population_by3().copy()
    by3["name"] = [NAME_ALIASES.get((n, int(m)), n)
                   for n, m in zip(by3["town_name"], by3["municipality_code"], strict=True)]
    return by3.merge(towns, on=["name", "municipality_code"], how="left")


def test_backcast_factor_recovers_a_constant_growth_path():
    """Rule: with constant municipal growth g, the factor to 2026 is (1+g)^-(2026-base).

    The series ends in 2023; the bridge continues the 2018-2023 growth, so a series that grows
    at exactly g every year must give the exact factor.
    """
    g = {101: 0.012, 202: -0.004}
    rows = [{"municipality_code": c, "year": y, "population_1jan": 10_000 * (1 + r) ** (y - 2010)}
            for c, r in g.items() for y in range(2010, 2024)]
    f = backcast_factor(2021, municipal=pd.DataFrame(rows))
    for c, r in g.items():
        assert f[c] == pytest.approx((1 + r) ** -(BY3_YEAR - 2021), rel=1e-12)


def test_geometric_interpolation_hits_both_figures_and_the_path_between():
    """Rule: the interpolation passes through both dated figures at constant growth."""
    assert interpolate_geometric(1000, 2014, 2000, 2026, 2014) == pytest.approx(1000)
    assert interpolate_geometric(1000, 2014, 2000, 2026, 2026) == pytest.approx(2000)
    assert interpolate_geometric(1000, 2014, 2000, 2026, 2020) == pytest.approx(1000 * 2 ** 0.5)


def test_every_by3_town_is_a_place_with_a_stated_source(built):
    """Rule: each of the 121 BY3 towns is a town place (not folded, not capped) and says how
    its 2021 figure was obtained: a dated DST quote within the window, else an estimate from
    BY3 flagged ``estimated``."""
    m = _by3_rows(built)
    assert len(m) == 121 and m["population"].notna().all()
    assert not m["capped"].any()
    quote = m["pop_source"].str.startswith("DST urban area")
    assert (m.loc[quote, "pop_year"].astype(int) - 2021).abs().le(QUOTE_WINDOW).all()
    est = m[~quote]
    assert est["estimated"].all()
    assert est["pop_source"].str.contains(f"BY3 {BY3_YEAR}").all()


def test_by3_backcast_towns_start_at_their_2026_figure_times_the_municipal_factor(built):
    """Rule: a back-cast town's 2021 people are its 2026 figure times its municipality's
    factor (whole persons after rounding), e.g. Møldrup and Højslev Stationsby, which the
    share estimate put at 200-300."""
    m = _by3_rows(built)
    bc = m[m["pop_source"].str.contains("back-cast")]
    f = backcast_factor(2021).reindex(bc["municipality_code"]).to_numpy()
    np.testing.assert_allclose(bc["population"], bc["population_2026"] * f, atol=1.0)
    for name in ("Møldrup", "Højslev Stationsby", "Spjald", "Thorsager"):
        row = m[m["name"] == name].iloc[0]
        assert row["population"] > 1000 and "back-cast" in row["pop_source"]


def test_a_near_dated_quote_beats_the_by3_estimate(built):
    """Rule: a town with a DST figure for 2020-2022 keeps that figure (Aarhus: 2020)."""
    m = _by3_rows(built)
    aarhus = m[m["name"] == "Aarhus"].iloc[0]
    assert aarhus["pop_source"].startswith("DST urban area 2020")
    assert aarhus["population"] == 280_534
