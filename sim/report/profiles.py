"""Part 3 of the report: compact data for a profile of every place.

About a thousand profile pages as images would make the file huge; instead every place gets a
few short arrays (rounded to whole inhabitants) that a small script in the page turns into a
chart (inline SVG), tables and text when the place is chosen. The JSON is embedded in a
``<script type="application/json">`` element with ``<``, ``>`` and ``&`` escaped, so no name
can end the element or inject markup; the script writes names with ``textContent`` only.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..services import KINDS
from .i18n import KIND_LABELS, initiative_label, reason_key, text, translate_note
from .inputs import Comparison

#: Years shown in the services table of a profile (plus the last year).
SERVICE_STEP = 5


def safe_json(obj: object) -> str:
    """JSON safe to place inside a ``<script>`` element (no ``<``, ``>`` or ``&``)."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _ints(a: np.ndarray) -> list[int]:
    return [int(v) for v in np.round(np.nan_to_num(a)).astype(np.int64)]


def place_data(base: pd.DataFrame, places: pd.DataFrame, comps: list[Comparison],
               lang: str) -> dict:
    """Everything the place profiles need, as plain lists and dicts.

    Returns:
        ``years``, ``service_years``, ``kinds`` (labels), ``scenarios`` (names),
        ``n_runs`` and ``places``: one dict per place (``i`` id, ``n`` name, ``k`` kind label,
        ``m`` municipality, ``pa`` parish, ``p`` data population and ``e`` estimated flag,
        ``b``/``lo``/``hi`` baseline mean and lowest/highest run per year, ``a65`` share 65+
        at start and end, ``g`` km to the nearest grocer at start and end, ``s`` per service
        kind the share of runs (%) with at least one open unit in ``service_years`` (kinds
        never open omitted), ``sim`` similar places ``[id, note]``, ``x`` per scenario
        ``[scenario index, targeted, yearly mean difference, last low, last high, events]``
        for scenarios with any difference or event there).
    """
    years = sorted(int(y) for y in base["year"].unique())
    start, end = years[0], years[-1]
    svc_years = [y for y in years if (y - start) % SERVICE_STEP == 0]
    if svc_years[-1] != end:
        svc_years.append(end)
    ids = places["place_id"].to_numpy()
    n_runs = int(base["seed"].nunique())

    pop = base.pivot_table(index="place_id", columns="year", values="population",
                           aggfunc=["mean", "min", "max"]).reindex(ids)
    ends = base[base["year"].isin([start, end])]
    g = ends.groupby(["place_id", "year"])
    old = (g["age_65_plus"].sum() / g["population"].sum().clip(lower=1)).unstack().reindex(ids)
    km = g["grocer_km"].mean().unstack().reindex(ids)
    svc = {}
    sub = base[base["year"].isin(svc_years)]
    for kind in KINDS:
        has = (sub[f"{kind}_open"] > 0).groupby([sub["place_id"], sub["year"]]).mean()
        svc[kind] = has.unstack().reindex(index=ids, columns=svc_years).fillna(0) * 100

    similar: dict[int, list] = {}
    sp = comps[0].table("similar_places").sort_values(["ref_place_id", "rank"])
    for ref, grp in sp.groupby("ref_place_id"):
        similar[int(ref)] = [[int(p), translate_note(str(n), lang)]
                             for p, n in zip(grp["place_id"], grp["note"], strict=True)]

    per_scen: dict[int, list] = {}
    for j, comp in enumerate(comps):
        dp = comp.table("difference_place")
        wide = dp.pivot(index="place_id", columns="year", values="mean_diff").reindex(ids)
        last = dp[dp["year"] == dp["year"].max()].set_index("place_id").reindex(ids)
        ev = comp.table("initiative_events")
        evs: dict[int, list] = {}
        for (pid, kind), grp in ev.groupby(["place_id", "kind"]):
            failed = grp[grp["event"] == "failed"]
            why = reason_key(str(failed["reason"].iloc[0])) if len(failed) else ""
            evs.setdefault(int(pid), []).append(
                [initiative_label(kind, lang),
                 int(grp.loc[grp["event"] == "started", "seed"].nunique()),
                 int(failed["seed"].nunique()), why])
        for pos, pid in enumerate(ids):
            d = wide.iloc[pos].to_numpy(float)
            targeted = bool(last["targeted"].iloc[pos]) if pd.notna(
                last["targeted"].iloc[pos]) else False
            if not targeted and np.all(np.abs(np.nan_to_num(d)) < 0.5) and pid not in evs:
                continue
            per_scen.setdefault(int(pid), []).append(
                [j, int(targeted), _ints(d), round(float(last["ci_low"].iloc[pos]), 1),
                 round(float(last["ci_high"].iloc[pos]), 1), evs.get(int(pid), [])])

    rows = []
    kinds = places["kind"].to_numpy()
    for pos, pid in enumerate(ids):
        r = places.iloc[pos]
        item = {
            "i": int(pid), "n": str(r["name"]), "k": KIND_LABELS[lang][kinds[pos]],
            "m": str(r["municipality"]), "pa": str(r["parish_name"]),
            "p": int(r["population"]), "e": int(bool(r["estimated"])),
            "b": _ints(pop["mean"].iloc[pos].to_numpy(float)),
            "lo": _ints(pop["min"].iloc[pos].to_numpy(float)),
            "hi": _ints(pop["max"].iloc[pos].to_numpy(float)),
            "a65": [round(float(v), 3) for v in np.nan_to_num(old.iloc[pos].to_numpy(float))],
            "g": [round(float(v), 1) for v in km.iloc[pos].to_numpy(float)],
            "s": {k: _ints(svc[k].iloc[pos].to_numpy(float)) for k in KINDS
                  if svc[k].iloc[pos].to_numpy().any()},
            "sim": similar.get(int(pid), []),
        }
        if int(pid) in per_scen:
            item["x"] = per_scen[int(pid)]
        rows.append(item)
    return {"years": years, "service_years": svc_years, "n_runs": n_runs,
            "kinds": {k: text_service(k, lang) for k in KINDS},
            "scenarios": [c.name for c in comps], "places": rows}


def text_service(kind: str, lang: str) -> str:
    """A service kind's label in ``lang``."""
    from .i18n import SERVICE_LABELS
    return SERVICE_LABELS[lang][kind]


def js_strings(lang: str) -> dict[str, str]:
    """The strings the page script uses, in ``lang``."""
    from .i18n import JS_KEYS
    return {k: text(k, lang) for k in JS_KEYS}
