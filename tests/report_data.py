"""A small comparison shared by the report tests, built once per test session.

Two seeds at scale 0.02, 2021-2025: cooperative grocers in Lemvig and Struer (as the shipped
scenario), and a second item in Skive whose volunteer needs no village can meet, so that
some initiatives fail and the report has failures to show.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from sim.cli import main

SCENARIO = """\
# Do cooperative grocers keep villages alive? (test)
name = "coop_test"
description = "Cooperative grocers in Lemvig, Struer and Skive villages without a shop"
base = "baseline.toml"

[[initiatives]]
kind = "coop_grocer"
start = 2023
[initiatives.target]
municipalities = ["Lemvig", "Struer"]
population = [300, 1000]
lacks = ["grocer"]

[[initiatives]]
kind = "coop_grocer"
name = "coop needing many volunteers"
start = 2023
[initiatives.target]
municipalities = ["Skive"]
population = [200, 1000]
lacks = ["grocer"]
[initiatives.settings]
type = "C"
volunteer_hours = 1000000
fail_years = 1
"""

#: A place name that would run as code if the report did not escape it.
EVIL = '<script>alert("x")</script> & Co'

_CACHE: dict[str, object] = {}


def comparison(base: Path) -> Path:
    """The comparison folder (built on the first call of the session)."""
    if "cmp" not in _CACHE:
        d = Path(base) / "report-data"
        d.mkdir(parents=True, exist_ok=True)
        (d / "baseline.toml").write_text('name = "baseline"\n[years]\nend = 2025\n')
        (d / "coop.toml").write_text(SCENARIO)
        code = main(["compare", str(d / "coop.toml"), "--seeds", "2", "--scale", "0.02",
                     "--jobs", "2", "--out", str(d / "results"), "--name", "coop_test"])
        assert code == 0
        _CACHE["cmp"] = d / "results" / "coop_test"
    return _CACHE["cmp"]


def evil_copy(base: Path) -> tuple[Path, int]:
    """A copy of the comparison in which one targeted village is called :data:`EVIL`."""
    if "evil" not in _CACHE:
        src = comparison(base)
        dst = Path(base) / "report-evil" / "coop_evil"
        shutil.copytree(src, dst)
        tp = pd.read_parquet(dst / "targeted_places.parquet")
        pid = int(tp["place_id"].iloc[0])
        for name in ("places", "targeted_places", "difference_place"):
            t = pd.read_parquet(dst / f"{name}.parquet")
            t.loc[t["place_id"] == pid, "name"] = EVIL
            t.to_parquet(dst / f"{name}.parquet", index=False)
        m = json.loads((dst / "manifest.json").read_text())
        m["scenario"] = EVIL
        (dst / "manifest.json").write_text(json.dumps(m))
        _CACHE["evil"] = dst
        _CACHE["evil_id"] = pid
    return _CACHE["evil"], int(_CACHE["evil_id"])


def report(base: Path, lang: str, evil: bool = False):
    """The report (``BuildInfo``) of the comparison, or of :func:`evil_copy`, built once."""
    from sim.report import build_report

    key = f"report-{lang}-{evil}"
    if key not in _CACHE:
        folder = evil_copy(base)[0] if evil else comparison(base)
        out = Path(base) / "reports" / f"{'evil' if evil else 'plain'}-{lang}.html"
        _CACHE[key] = build_report([folder], out=out, lang=lang)
    return _CACHE[key]
