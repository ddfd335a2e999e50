"""Similar places (forum question 3): features, ranking, notes and place names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.model import RegionModel
from sim.params import Parameters
from sim.similar import (
    FEATURES,
    LARGER_FACTOR,
    LARGER_MIN_POP,
    NOTE_OLD_SHARE,
    features,
    find_place,
    format_table,
    rank_similar,
    similar,
    standardise,
)


@pytest.fixture(scope="module")
def model() -> RegionModel:
    return RegionModel(Parameters(scale=0.05, end_year=2022), seed=0)


@pytest.fixture(scope="module")
def table(model: RegionModel) -> pd.DataFrame:
    return features(model)


def _synthetic(**changes: dict[int, float]) -> pd.DataFrame:
    """Four towns; ``changes`` sets ``feature={row: value}`` on top of a plain base."""
    t = pd.DataFrame({
        "place_id": np.arange(4), "name": ["A", "B", "C", "D"], "kind": ["town"] * 4,
        "municipality": ["M"] * 4,
        "population": [500.0, 800.0, 3000.0, 500.0], "share_65plus": [0.2, 0.25, 0.15, 0.2],
        "share_0_17": [0.2, 0.18, 0.22, 0.2], "km_larger_town": [8.0, 12.0, 20.0, 8.0],
        "services": [1, 2, 4, 1], "km_grocer": [2.0, 2.0, 2.0, 2.0],
        "municipal_trend_pct": [1.0, 1.0, -2.0, 1.0],
    })
    for f, rows in changes.items():
        for r, v in rows.items():
            t.loc[r, f] = v
    return t


def test_features_cover_every_place_with_plausible_values(model, table):
    """Rule: one row per place; shares in [0, 1], services 0-4, distances >= 0, the
    municipal trend shared by the places of a municipality."""
    assert len(table) == model.world.n
    assert table["place_id"].tolist() == list(range(model.world.n))
    for f in ("share_65plus", "share_0_17"):
        assert table[f].between(0, 1).all()
    assert table["services"].between(0, 4).all()
    assert (table[["km_larger_town", "km_grocer"]] >= 0).all().all()
    assert table[list(FEATURES)].notna().all().all()
    assert (table.groupby("municipality")["municipal_trend_pct"].nunique() == 1).all()
    z = table[[f"z_{f}" for f in FEATURES]].to_numpy()
    assert np.allclose(z.mean(axis=0), 0, atol=1e-9)


def test_larger_town_is_larger_by_the_documented_rule(table):
    """Rule: the nearest larger town is a town with more inhabitants and at least twice as
    many or at least 10,000; only a place with none (the largest city) gets 0 km."""
    pop = table["population"].to_numpy()
    has = table[table["larger_town_id"] >= 0]
    for _, r in has.sample(50, random_state=0).iterrows():
        big = pop[r["larger_town_id"]]
        assert table.loc[r["larger_town_id"], "kind"] == "town"
        assert big > r["population"]
        assert big >= LARGER_FACTOR * r["population"] or big >= LARGER_MIN_POP
    none = table[table["larger_town_id"] < 0]
    assert len(none) >= 1 and (none["km_larger_town"] == 0).all()
    assert none["population"].max() == table["population"].max()


def test_listed_matches_are_nearer_than_every_other_candidate(model, table):
    """Rule: every listed place is at least as close in feature space as any place of the
    same kind that is not listed; the list is sorted nearest first."""
    p = find_place(model.world.places, "Lemvig")
    got = similar(model, p, k=5)
    z = standardise(table)
    d = np.sqrt(((z - z[p]) ** 2).sum(axis=1))
    assert np.allclose(got["distance"].to_numpy(), d[got["place_id"].to_numpy()])
    assert got["distance"].is_monotonic_increasing
    same = (table["kind"] == table.loc[p, "kind"]).to_numpy()
    rest = np.flatnonzero(same & ~np.isin(np.arange(len(table)), [p, *got["place_id"]]))
    assert d[rest].min() >= got["distance"].max()


def test_k_is_respected_and_the_place_itself_excluded(model):
    """Rule: k matches (of the place's kind by default), never the place itself."""
    places = model.world.places
    for name, k in (("Lemvig", 3), ("Brædstrup (land)", 7)):
        p = find_place(places, name)
        got = similar(model, p, k=k)
        assert len(got) == k
        assert p not in set(got["place_id"])
        assert (got["kind"] == places.loc[p, "kind"]).all()
        assert got["rank"].tolist() == list(range(1, k + 1))
        assert (got["ref_place_id"] == p).all()
    mixed = similar(model, find_place(places, "Lemvig"), k=40, same_kind=False)
    assert len(mixed) == 40
    with pytest.raises(ValueError, match="k must be at least 1"):
        similar(model, 0, k=0)


def test_identical_features_give_distance_zero():
    """Rule: a place whose features equal the reference's is at distance 0 and ranks first."""
    got = rank_similar(_synthetic(), 0, k=3)
    assert got.loc[0, "name"] == "D"
    assert got.loc[0, "distance"] == 0.0
    assert got.loc[0, "note"] == "similar context"
    assert (got["distance"].iloc[1:] > 0).all()


def test_same_kind_filters_candidates():
    """Rule: with same_kind, open countryside is never offered for a town."""
    t = _synthetic()
    t.loc[3, "kind"] = "countryside"
    assert "D" not in set(rank_similar(t, 0, k=3)["name"])
    assert rank_similar(t, 0, k=3, same_kind=False).loc[0, "name"] == "D"
    assert "open countryside" in rank_similar(t, 0, k=1, same_kind=False).loc[0, "note"]


def test_notes_name_an_older_population():
    """Rule: when the share 65+ differs by the threshold or more, the note says the match's
    population is much older, with both shares."""
    t = _synthetic(share_65plus={3: 0.2 + NOTE_OLD_SHARE + 0.04})
    note = rank_similar(t, 0, k=3).set_index("name").loc["D", "note"]
    assert "much older population (32% over 65 vs 20%)" in note
    young = rank_similar(_synthetic(share_65plus={0: 0.32}), 0, k=3)
    assert "much younger population" in young.set_index("name").loc["D", "note"]


def test_notes_name_grocer_size_and_remoteness():
    """Rule: notes say when a match lacks a grocer within 10 km, is much smaller, or is far
    from a larger town."""
    t = _synthetic(km_grocer={3: 14.0}, population={3: 200.0}, km_larger_town={3: 25.0})
    note = rank_similar(t, 0, k=3).set_index("name").loc["D", "note"]
    assert "no grocer within 10 km (14 km vs 2 km)" in note
    assert "much smaller (200 vs 500 inhabitants)" in note
    assert "far from a larger town (25 km vs 8 km)" in note


def test_find_place_exact_hamlet_and_suggestions(model):
    """Rule: names match exactly but case-insensitively; a hamlet gives its countryside place;
    a misspelt name is rejected with 'did you mean'; a shared name asks for the
    municipality."""
    places = model.world.places
    lemvig = find_place(places, "Lemvig")
    assert places.loc[lemvig, "name"] == "Lemvig"
    assert find_place(places, "  lEMVIG ") == lemvig
    row = places[places["hamlets"] != ""].iloc[0]
    hamlet = row["hamlets"].split("; ")[0]
    assert find_place(places, hamlet) == row["place_id"]
    with pytest.raises(ValueError, match="did you mean 'Lemvig'"):
        find_place(places, "Lemvg")
    dup = places["name"][places["name"].duplicated()].iloc[0]
    with pytest.raises(ValueError, match="add the municipality"):
        find_place(places, dup)
    muni = places.loc[places["name"] == dup, "municipality"].iloc[0]
    pid = find_place(places, f"{dup}, {muni}")
    assert places.loc[pid, "name"] == dup and places.loc[pid, "municipality"] == muni


def test_format_table_shows_the_place_matches_and_notes(model):
    """Rule: the terminal table lists the place, every match and every match's note."""
    got = similar(model, "Lemvig", k=3)
    text = format_table(got)
    assert "Lemvig (this place)" in text
    for _, r in got.iterrows():
        assert r["name"] in text and r["note"] in text
    assert "2016-2021" in text
