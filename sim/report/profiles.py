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
        ``[scenario index, targeted, yearly mean difference, last low, last high, events,
        services]``
        for scenarios with any difference or event there, and the service shares with the
        scenario for kinds where they differ from the baseline).
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
    mean, low, high = (np.rint(np.nan_to_num(pop[a].to_numpy(float))).astype(np.int64)
                       for a in ("mean", "min", "max"))
    ends = base[base["year"].isin([start, end])]
    g = ends.groupby(["place_id", "year"])
    old = (g["age_65_plus"].sum() / g["population"].sum().clip(lower=1)).unstack().reindex(ids)
    old = np.round(np.nan_to_num(old.to_numpy(float)), 3)
    km = np.round(g["grocer_km"].mean().unstack().reindex(ids).to_numpy(float), 1)
    sub = base[base["year"].isin(svc_years)]
    svc = {}
    for kind in KINDS:
        has = (sub[f"{kind}_open"] > 0).groupby([sub["place_id"], sub["year"]]).mean()
        svc[kind] = np.rint(has.unstack().reindex(index=ids, columns=svc_years)
                            .fillna(0).to_numpy() * 100).astype(np.int64)

    similar: dict[int, list] = {}
    sp = comps[0].table("similar_places").sort_values(["ref_place_id", "rank"])
    for ref, p, note in zip(sp["ref_place_id"].to_numpy(), sp["place_id"].to_numpy(),
                            sp["note"].astype(str), strict=True):
        similar.setdefault(int(ref), []).append([int(p), translate_note(note, lang)])

    per_scen: dict[int, list] = {}
    for j, comp in enumerate(comps):
        dp = comp.table("difference_place")
        wide = np.rint(np.nan_to_num(dp.pivot(index="place_id", columns="year",
                                              values="mean_diff").reindex(ids)
                                     .to_numpy(float))).astype(np.int64)
        last = dp[dp["year"] == dp["year"].max()].set_index("place_id").reindex(ids)
        targeted = last["targeted"].fillna(False).to_numpy(bool)
        lo = np.round(np.nan_to_num(last["ci_low"].to_numpy(float)), 1)
        hi = np.round(np.nan_to_num(last["ci_high"].to_numpy(float)), 1)
        ev = comp.table("initiative_events")
        evs: dict[int, list] = {}
        for (pid, kind), grp in ev.groupby(["place_id", "kind"]):
            failed = grp[grp["event"] == "failed"]
            why = reason_key(str(failed["reason"].iloc[0])) if len(failed) else ""
            evs.setdefault(int(pid), []).append(
                [initiative_label(kind, lang),
                 int(grp.loc[grp["event"] == "started", "seed"].nunique()),
                 int(failed["seed"].nunique()), why])
        seeds_t = comp.table("place_year_seeds")
        scen = seeds_t[(seeds_t["arm"] == "scenario") & seeds_t["year"].isin(svc_years)]
        svc_s = {}
        for kind in KINDS:
            has = (scen[f"{kind}_open"] > 0).groupby([scen["place_id"], scen["year"]]).mean()
            svc_s[kind] = np.rint(has.unstack().reindex(index=ids, columns=svc_years)
                                  .fillna(0).to_numpy() * 100).astype(np.int64)
        svc_diff = np.column_stack([(svc_s[k] != svc[k]).any(axis=1) for k in KINDS])
        show = targeted | (np.abs(wide) > 0).any(axis=1) | np.isin(ids, list(evs)) \
            | svc_diff.any(axis=1)
        for pos in np.flatnonzero(show):
            pid = int(ids[pos])
            per_scen.setdefault(pid, []).append(
                [j, int(targeted[pos]), wide[pos].tolist(), float(lo[pos]), float(hi[pos]),
                 evs.get(pid, []), {k: svc_s[k][pos].tolist() for c, k in enumerate(KINDS)
                                    if svc_diff[pos, c]}])

    rows = []
    kinds = places["kind"].to_numpy()
    names = places["name"].astype(str).tolist()
    munis = places["municipality"].astype(str).tolist()
    parishes = places["parish_name"].astype(str).tolist()
    pops = places["population"].to_numpy(int)
    est = places["estimated"].to_numpy(bool)
    for pos, pid in enumerate(ids):
        item = {
            "i": int(pid), "n": names[pos], "k": KIND_LABELS[lang][kinds[pos]],
            "m": munis[pos], "pa": parishes[pos], "p": int(pops[pos]), "e": int(est[pos]),
            "b": mean[pos].tolist(), "lo": low[pos].tolist(), "hi": high[pos].tolist(),
            "a65": old[pos].tolist(), "g": km[pos].tolist(),
            "s": {k: svc[k][pos].tolist() for k in KINDS if svc[k][pos].any()},
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
