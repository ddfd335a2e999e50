"""The ranking for the forum: most per krone, with intervals, and what volunteers can carry."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.cli import main
from sim.ranking import carrying, ranking_table


class _Comp:
    """A comparison folder in memory (the interface of the report's Comparison)."""

    def __init__(self, kind: str, per_million: float, hours: float, potential: float,
                 started: int = 10, failed_vol: int = 0) -> None:
        self.manifest = {"scenario": f"rank-{kind}", "targeted_places": [1, 2],
                         "resolved_scenario": {"initiatives": [
                             {"kind": kind, "start": 2027,
                              "settings": {"volunteer_hours": hours}}]}}
        eff = pd.DataFrame([{"outcome": o, "cost_end": "central", "cost_dkk": 1e6,
                             "per_million": per_million, "per_million_low": per_million - 1,
                             "per_million_high": per_million + 1, "mean_diff": per_million,
                             "ci_low": per_million - 1, "ci_high": per_million + 1}
                            for o in ("residents", "service_years")])
        com = pd.DataFrame([{"arm": "baseline", "seed": 0, "year": y, "place_id": p,
                             "potential": potential} for y in (2027, 2050) for p in (1, 2)])
        ev = pd.DataFrame(
            [{"kind": kind, "place_id": 1, "year": 2027, "event": "started", "reason": "",
              "seed": s} for s in range(started)]
            + [{"kind": kind, "place_id": 1, "year": 2030, "event": "failed",
                "reason": "volunteer capacity ran out (2 years short)", "seed": s}
               for s in range(failed_vol)])
        self._t = {"effectiveness": eff, "community_year_seeds": com, "initiative_events": ev}

    def table(self, name: str) -> pd.DataFrame:
        return self._t[name]


def test_kinds_are_ranked_by_the_difference_per_million():
    """Rule: the best per DKK million first (rank 1), with its interval."""
    t = ranking_table([_Comp("car_sharing", 2.0, 100, 5000), _Comp("nature_project", 7.0, 200,
                                                                   5000),
                       _Comp("flex_transit", -1.0, 0, 5000)])
    assert t["kind"].tolist() == ["nature_project", "car_sharing", "flex_transit"]
    assert t["rank"].tolist() == [1, 2, 3]
    assert t.loc[0, "per_million_low"] == 6.0


def test_what_the_volunteers_can_carry():
    """Rule: 'no' when it failed for lack of volunteers in half the place-runs or needs more
    than the share of the villages' free hours they can sustain in the last year; 'at_risk'
    when either happens at all; 'yes' otherwise, and always when it needs no hours."""
    assert carrying(_Comp("coop_grocer", 1, 800, 5000))["carry"] == "yes"
    assert carrying(_Comp("coop_grocer", 1, 800, 5000, failed_vol=1))["carry"] == "at_risk"
    assert carrying(_Comp("coop_grocer", 1, 800, 5000, failed_vol=5))["carry"] == "no"
    short = carrying(_Comp("coop_grocer", 1, 3000, 3500))
    assert short["carry"] == "no" and short["short_places"] == 1.0
    assert carrying(_Comp("flex_transit", 1, 0, 10))["carry"] == "yes"
    c = carrying(_Comp("coop_grocer", 1, 800, 5000))
    assert c["hours"] == 800 and c["capacity_start"] == c["capacity_end"] == 5000


def test_rank_command_writes_the_ranking_and_one_comparison_per_kind(tmp_path, capsys):
    """Rule: `landsim rank` tries each kind alone in the villages against one baseline over
    the same seeds, prints the table and writes ranking.csv beside a comparison folder per
    kind."""
    (tmp_path / "b.toml").write_text('name = "baseline"\n[years]\nend = 2024\n')
    assert main(["rank", "--place", "Asp", "--kinds", "car_sharing,community_house",
                 "--start", "2023", "--seeds", "2", "--scale", "0.02", "--baseline",
                 str(tmp_path / "b.toml"), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "out" / "rank-Asp"
    assert str(folder) in out and "carry" in out
    t = pd.read_csv(folder / "ranking.csv")
    assert sorted(t["kind"]) == ["car_sharing", "community_house"]
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [
        "compare-rank-car_sharing", "compare-rank-community_house"]


@pytest.mark.parametrize("args,needle", [
    (["--place", "Asp", "--kinds", "coop_grocers"], "unknown kind(s) coop_grocers"),
    (["--place", "Aspp"], "--place"),
    (["--like", "Asp", "--k", "0"], "--k must be 1-100"),
    (["--place", "Asp", "--seeds", "1"], "--seeds must be at least 2"),
])
def test_rank_rejects_bad_input_with_one_message(args, needle, tmp_path, capsys):
    """Rule: a bad kind, place or count is one clear line and exit 2; nothing is written."""
    assert main(["rank", *args, "--out", str(tmp_path / "out")]) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
