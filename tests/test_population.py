"""Synthetic population: matches the data it is built from."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim import data


def test_full_scale_persons_per_place_equal_place_population(full_scale_start):
    """Rule: at 1:1 every place gets exactly its people, so parish and municipal totals hold."""
    m = full_scale_start
    got = m.pop.place_persons(m.world.n)
    assert (got == m.world.places["population"].to_numpy()).all()
    par = data.parishes()
    muni = pd.Series(got).groupby(m.world.places["municipality_code"].to_numpy()).sum()
    want = par.groupby("municipality_code")["population"].sum()
    assert (muni.sort_index().to_numpy() == want.sort_index().to_numpy()).all()


def test_municipal_mean_age_matches_2021_data(full_scale_start):
    """Rule: tilting the 2014 age table to parish mean ages reproduces 2021 municipal means.

    The check uses a file the synthesis does not read (municipal mean age 2021Q1).
    """
    m = full_scale_start
    pp = m.pop.persons
    muni = m.world.places["municipality_code"].to_numpy()[m.pop.households.place[pp.hh]]
    sim_mean = pd.Series(pp.age.astype(float)).groupby(muni).mean()
    obs = pd.read_csv(data.data_dir() / "municipal_population_sex_meanage_2021q1.csv")
    obs = obs.set_index("municipality_code")["mean_age"]
    diff = (sim_mean - obs.reindex(sim_mean.index)).abs()
    assert diff.max() < 1.0, diff.sort_values().tail()


def test_households_are_plausible(full_scale_start):
    """Rule: every minor lives with an adult; couples are of similar age; sizes are small."""
    pop = full_scale_start.pop
    pp = pop.persons
    size = pop.size()
    assert size.min() >= 1 and np.percentile(size, 99) <= 5
    head = pop.head_age()
    minors = pp.age < 18
    assert (head[pp.hh[minors]] >= 18).mean() > 0.999
    gap = head[pp.hh[minors]] - pp.age[minors]
    assert np.median(gap) > 20 and np.median(gap) < 40
    assert 550_000 < len(pop.households) < 800_000


def test_household_view_reads_the_arrays(full_scale_start):
    """Rule: the readable view shows exactly the columnar data of its row."""
    pop = full_scale_start.pop
    row = int(np.flatnonzero(pop.size() == 3)[0])
    h = pop.view(row)
    assert len(h.ages) == 3 and h.ages == sorted(pop.persons.age[h.members].tolist(), reverse=True)
    assert h.place == pop.households.place[row]
    assert h.stage in ("young", "family", "adult", "senior")
    assert "Household(hid=" in repr(h)


def test_workers_have_workplaces_and_commutes_match_dst(full_scale_start):
    """Rule: every worker has a workplace; the mean commute equals DST's 21.5 km (fitted)."""
    m = full_scale_start
    pp = m.pop.persons
    assert (pp.workplace[pp.employed] >= 0).all() and (pp.workplace[~pp.employed] == -1).all()
    home = m.pop.households.place[pp.hh[pp.employed]]
    km = m.world.dist_km[home, pp.workplace[pp.employed]]
    assert abs(km.mean() - 21.5) < 1.5


def test_zero_move_rate_start_is_valid_and_other_draws_unchanged():
    """Rule: move_rate 0 (a documented bound) is accepted: such households have lived at
    their address since age 18; the other stages draw exactly as before (same stream)."""
    from sim import Parameters, RegionModel

    base = Parameters(scale=0.01, end_year=2022)
    rates = list(base.relocation.move_rate)
    rates[3] = 0.0  # seniors never move
    zero = base.with_overrides(relocation={"move_rate": rates})
    a = RegionModel(base, seed=3).pop
    b = RegionModel(zero, seed=3).pop
    senior = b.stage() == 3
    assert senior.any()
    head = b.head_age()
    assert (b.households.years[senior] == head[senior] - 18).all()
    assert (a.households.years[~senior] == b.households.years[~senior]).all()
