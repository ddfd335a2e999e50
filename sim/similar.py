"""Similar places: where could a village copy a solution from? (forum question 3).

A solution that worked in one village is more likely to work in another whose context is
alike. Each place (town or open countryside) is described by seven features of the model's
current state (usually the start year, 2021):

==========================  ===============================================================
``population``              inhabitants (full-scale estimate: simulated persons / scale);
                            compared on a log scale
``share_65plus``            share of the place's persons aged 65 or more
``share_0_17``              share aged 0-17
``km_larger_town``          road km to the nearest larger town: a town with more inhabitants
                            and at least :data:`LARGER_FACTOR` times as many, or at least
                            :data:`LARGER_MIN_POP`; 0 for a place with no larger town (the
                            region's largest city)
``services``                kinds (of grocer, school, doctor, pharmacy) with an open unit in
                            the place, 0-4
``km_grocer``               road km to the nearest open grocer (own place: 2 km, the model's
                            intra-place distance), capped at :data:`KM_CAP`
``municipal_trend_pct``     the **municipality's** population change 2016-2021 (%):
                            no place-level population history exists in the data, so every
                            place of a municipality shares its trend
==========================  ===============================================================

Features are standardised over all places (z-scores; a feature without spread counts 0) and
places are compared by Euclidean distance, every feature weighing the same. The ``note`` of
each match says in plain words where its context differs strongly from the place's, by the
thresholds below; a short distance can still hide one strong difference, so read the notes.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .migration import municipal_growth_pct
from .services import KINDS

#: Features compared, in order (raw columns of :func:`features`).
FEATURES = ("population", "share_65plus", "share_0_17", "km_larger_town", "services",
            "km_grocer", "municipal_trend_pct")
#: Features standardised after taking the natural log (of at least 1).
LOG_FEATURES = ("population",)
#: A larger town has at least this many times the place's inhabitants ...
LARGER_FACTOR = 2.0
#: ... or at least this many inhabitants (and more than the place).
LARGER_MIN_POP = 10_000
#: Distances (km) are capped here, as in the utility terms: beyond it "far is far".
KM_CAP = 30.0
#: Years of the municipal trend (the municipal population table's first and last years).
TREND_YEARS = (2016, 2021)

# thresholds of the notes (a match's value against the place's)
#: "much smaller/larger": inhabitants differ by at least this factor.
NOTE_SIZE_FACTOR = 2.0
#: "much older/younger population": share 65+ differs by at least this (8 percentage points).
NOTE_OLD_SHARE = 0.08
#: "more/fewer children": share 0-17 differs by at least this (6 percentage points).
NOTE_CHILD_SHARE = 0.06
#: "far from/close to a larger town": distances differ by at least this many km.
NOTE_LARGER_TOWN_KM = 10.0
#: "no grocer within N km": one place has a grocer within this distance, the other not.
NOTE_GROCER_KM = 10.0
#: "fewer/more services": open kinds differ by at least this many.
NOTE_SERVICES = 2
#: "municipality shrinking/growing faster": trends differ by at least this (percentage points).
NOTE_TREND_PCT = 5.0

_GROCER = KINDS.index("grocer")


# --------------------------------------------------------------------------- features
def _larger_town_km(pop: np.ndarray, is_town: np.ndarray, dist_km: np.ndarray,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Road km to, and id of, each place's nearest larger town (0 and -1 if none)."""
    larger = (is_town[None, :] & (pop[None, :] > pop[:, None])
              & ((pop[None, :] >= LARGER_FACTOR * pop[:, None])
                 | (pop[None, :] >= LARGER_MIN_POP)))
    np.fill_diagonal(larger, False)
    d = np.where(larger, dist_km, np.inf)
    nearest = d.argmin(axis=1)
    has = larger.any(axis=1)
    km = np.where(has, d[np.arange(len(pop)), nearest], 0.0)
    return km.astype(float), np.where(has, nearest, -1)


def features(model) -> pd.DataFrame:
    """The comparison features of every place in the model's current state.

    Args:
        model: A :class:`sim.model.RegionModel` (any year; usually the start).

    Returns:
        One row per place (index = place id) with ``place_id``, ``name``, ``kind``,
        ``municipality``, the raw features (:data:`FEATURES`), ``larger_town`` and
        ``larger_town_id`` (its name and id; "" and -1 if none) and the standardised
        features ``z_<feature>``. A place without simulated persons (possible at a small
        scale) takes the region's age shares; at a small scale the age shares of small
        places are noisy, so use scale 1 for real comparisons.
    """
    world = model.world
    places = world.places
    n = world.n
    pp = model.pop.persons
    home = model.pop.households.place[pp.hh]
    persons = np.bincount(home, minlength=n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        old = np.bincount(home[pp.age >= 65], minlength=n) / persons
        young = np.bincount(home[pp.age < 18], minlength=n) / persons
    n_all = max(len(pp), 1)
    old = np.where(persons > 0, old, np.count_nonzero(pp.age >= 65) / n_all)
    young = np.where(persons > 0, young, np.count_nonzero(pp.age < 18) / n_all)
    pop = persons / model.params.scale
    is_town = (places["kind"] == "town").to_numpy()
    names = places["name"].to_numpy(dtype=object)
    km_larger, larger_id = _larger_town_km(pop, is_town, world.dist_km)
    counts = model.services.open_count(n)
    trend = municipal_growth_pct(*TREND_YEARS)
    table = pd.DataFrame({
        "place_id": np.arange(n),
        "name": names,
        "kind": places["kind"].to_numpy(),
        "municipality": places["municipality"].to_numpy(),
        "population": pop,
        "share_65plus": old,
        "share_0_17": young,
        "km_larger_town": km_larger,
        "larger_town": np.where(larger_id >= 0, names[np.maximum(larger_id, 0)], ""),
        "larger_town_id": larger_id,
        "services": (counts > 0).sum(axis=1),
        "km_grocer": np.minimum(model.service_km()[:, _GROCER].astype(float), KM_CAP),
        "municipal_trend_pct": places["municipality_code"].map(trend).to_numpy(float),
    })
    z = standardise(table)
    for j, f in enumerate(FEATURES):
        table[f"z_{f}"] = z[:, j]
    return table


def standardise(table: pd.DataFrame) -> np.ndarray:
    """z-scores of :data:`FEATURES` over all rows of ``table``, shape (rows, features).

    Log features are logged first (of at least 1). A feature with no spread gives zeros;
    missing values count as the feature's mean.
    """
    cols = []
    for f in FEATURES:
        v = table[f].to_numpy(float)
        if f in LOG_FEATURES:
            v = np.log(np.maximum(v, 1.0))
        mean = np.nanmean(v) if np.isfinite(v).any() else 0.0
        v = np.where(np.isfinite(v), v, mean)
        sd = v.std()
        cols.append((v - mean) / sd if sd > 0 else np.zeros_like(v))
    return np.column_stack(cols)


# --------------------------------------------------------------------------- ranking
def similar(model, place_id: int | str, k: int = 5, same_kind: bool = True) -> pd.DataFrame:
    """The ``k`` places most like ``place_id`` in the model's current state.

    Args:
        model: A :class:`sim.model.RegionModel`.
        place_id: Place index, or a name resolved by :func:`find_place`.
        k: Number of matches.
        same_kind: Only towns for a town, only open countryside for countryside.

    Returns:
        See :func:`rank_similar`.

    Raises:
        ValueError: Unknown place, or ``k`` below 1.
    """
    if isinstance(place_id, str):
        place_id = find_place(model.world.places, place_id)
    return rank_similar(features(model), int(place_id), k, same_kind)


def rank_similar(table: pd.DataFrame, place_id: int, k: int = 5,
                 same_kind: bool = True) -> pd.DataFrame:
    """The ``k`` rows of a feature table nearest ``place_id`` (itself excluded).

    Args:
        table: Output of :func:`features` (or any frame with ``place_id``, ``name``,
            ``kind``, ``municipality`` and the raw :data:`FEATURES`); standardised over all
            its rows.
        place_id: The reference place (a value of ``table["place_id"]``).
        k: Number of matches (fewer if fewer candidates exist).
        same_kind: Only candidates of the reference place's kind.

    Returns:
        One row per match, nearest first: ``rank``, ``place_id``, ``name``, ``kind``,
        ``municipality``, ``distance`` (Euclidean, in standard-score units), ``note``, each
        raw feature of the match and the same feature of the reference place as
        ``<feature>_ref``, and ``ref_place_id``, ``ref_name``, ``ref_kind``,
        ``ref_municipality``. ``larger_town``/``larger_town_ref`` are included when present.

    Raises:
        ValueError: ``place_id`` not in the table, or ``k`` below 1.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    ids = table["place_id"].to_numpy()
    pos = np.flatnonzero(ids == place_id)
    if len(pos) == 0:
        raise ValueError(f"place id {place_id} is not in the table (0..{len(table) - 1})")
    i = int(pos[0])
    z = standardise(table)
    dist = np.sqrt(((z - z[i]) ** 2).sum(axis=1))
    cand = np.arange(len(table)) != i
    kind = table["kind"].to_numpy()
    if same_kind:
        cand &= kind == kind[i]
    rows = np.flatnonzero(cand)
    rows = rows[np.argsort(dist[rows], kind="stable")][:k]
    ref = table.iloc[i]
    extra = [c for c in ("larger_town",) if c in table.columns]
    out = pd.DataFrame({
        "rank": np.arange(1, len(rows) + 1),
        "place_id": ids[rows],
        "name": table["name"].to_numpy()[rows],
        "kind": kind[rows],
        "municipality": table["municipality"].to_numpy()[rows],
        "distance": dist[rows],
    })
    out["note"] = [context_notes(ref, table.iloc[r]) for r in rows]
    for f in (*FEATURES, *extra):
        out[f] = table[f].to_numpy()[rows]
        out[f"{f}_ref"] = ref[f]
    out["ref_place_id"] = ref["place_id"]
    out["ref_name"] = ref["name"]
    out["ref_kind"] = ref["kind"]
    out["ref_municipality"] = ref["municipality"]
    return out


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def context_notes(ref: Mapping, match: Mapping) -> str:
    """Plain-language differences of ``match``'s context from ``ref``'s (the place's).

    Only strong differences are named (thresholds ``NOTE_*`` of this module); "similar
    context" if there are none. Both arguments map raw feature names to values.
    """
    notes: list[str] = []
    if ref.get("kind") != match.get("kind"):
        notes.append("open countryside, not a town" if match.get("kind") == "countryside"
                     else "a town, not open countryside")
    pr, pm = max(float(ref["population"]), 1.0), max(float(match["population"]), 1.0)
    if pm * NOTE_SIZE_FACTOR <= pr or pm >= NOTE_SIZE_FACTOR * pr:
        word = "smaller" if pm < pr else "larger"
        notes.append(f"much {word} ({pm:,.0f} vs {pr:,.0f} inhabitants)")
    o_r, o_m = float(ref["share_65plus"]), float(match["share_65plus"])
    if abs(o_m - o_r) >= NOTE_OLD_SHARE:
        word = "older" if o_m > o_r else "younger"
        notes.append(f"much {word} population ({_pct(o_m)} over 65 vs {_pct(o_r)})")
    c_r, c_m = float(ref["share_0_17"]), float(match["share_0_17"])
    if abs(c_m - c_r) >= NOTE_CHILD_SHARE:
        word = "more" if c_m > c_r else "fewer"
        notes.append(f"{word} children ({_pct(c_m)} under 18 vs {_pct(c_r)})")
    t_r, t_m = float(ref["km_larger_town"]), float(match["km_larger_town"])
    if abs(t_m - t_r) >= NOTE_LARGER_TOWN_KM:
        if t_m == 0 or t_r == 0:
            notes.append("no larger town in the region" if t_m == 0 else
                         f"has a larger town {t_m:.0f} km away (this place has none)")
        else:
            word = "far from" if t_m > t_r else "close to"
            notes.append(f"{word} a larger town ({t_m:.0f} km vs {t_r:.0f} km)")
    g_r, g_m = float(ref["km_grocer"]), float(match["km_grocer"])
    if (g_m > NOTE_GROCER_KM) != (g_r > NOTE_GROCER_KM):
        if g_m > NOTE_GROCER_KM:
            notes.append(f"no grocer within {NOTE_GROCER_KM:.0f} km "
                         f"({g_m:.0f} km vs {g_r:.0f} km)")
        else:
            notes.append(f"a grocer within {NOTE_GROCER_KM:.0f} km "
                         f"({g_m:.0f} km vs {g_r:.0f} km)")
    s_r, s_m = int(ref["services"]), int(match["services"])
    if abs(s_m - s_r) >= NOTE_SERVICES:
        word = "more" if s_m > s_r else "fewer"
        notes.append(f"{word} services ({s_m} of {len(KINDS)} kinds vs {s_r})")
    m_r, m_m = float(ref["municipal_trend_pct"]), float(match["municipal_trend_pct"])
    if abs(m_m - m_r) >= NOTE_TREND_PCT:
        word = "growing faster" if m_m > m_r else "shrinking faster"
        notes.append(f"municipality {word} ({m_m:+.1f}% vs {m_r:+.1f}% in "
                     f"{TREND_YEARS[0]}-{TREND_YEARS[1]})")
    return "; ".join(notes) if notes else "similar context"


# --------------------------------------------------------------------------- names
def _hamlet_places(places: pd.DataFrame) -> dict[str, list[int]]:
    """Casefolded hamlet name -> row positions of the countryside places listing it."""
    out: dict[str, list[int]] = {}
    col = places["hamlets"] if "hamlets" in places.columns else pd.Series([""] * len(places))
    for pos, names in enumerate(col.to_numpy()):
        for h in filter(None, str(names or "").split("; ")):
            out.setdefault(h.strip().casefold(), []).append(pos)
    return out


def _place_id(places: pd.DataFrame, pos: int) -> int:
    return int(places["place_id"].iloc[pos]) if "place_id" in places.columns else int(pos)


def _ambiguous(name: str, places: pd.DataFrame, rows: list[int]) -> ValueError:
    listed = ", ".join(f"{places['name'].iloc[r]} ({places['municipality'].iloc[r]}, id "
                       f"{_place_id(places, r)})" for r in rows)
    example = f"{places['name'].iloc[rows[0]]}, {places['municipality'].iloc[rows[0]]}"
    return ValueError(f"{name!r} names {len(rows)} places: {listed}; add the municipality, "
                      f"e.g. {example!r}")


def find_place(places: pd.DataFrame, name: str) -> int:
    """Place id of ``name`` (exact, case-insensitive).

    A hamlet under 200 inhabitants (listed in the ``hamlets`` column) gives its parish's
    open-countryside place. A name shared by several places can be made unique with its
    municipality: ``"Hårup, Silkeborg"``.

    Args:
        places: The place table (``model.world.places``).
        name: A town name, ``"<parish> (land)"`` for open countryside, or a hamlet.

    Returns:
        The place id.

    Raises:
        ValueError: Unknown name (with "did you mean ..." for a close spelling) or a name
            shared by several places (listing them).
    """
    key = name.strip().casefold()
    folded = places["name"].astype(str).str.casefold().to_numpy()
    rows = list(np.flatnonzero(folded == key))
    hamlets = _hamlet_places(places)
    if not rows and "," in key:
        base, muni = (s.strip() for s in key.rsplit(",", 1))
        in_muni = places["municipality"].astype(str).str.casefold().to_numpy() == muni
        named = list(np.flatnonzero(folded == base)) or hamlets.get(base, [])
        rows = [r for r in named if in_muni[r]]
        if named and not rows:
            where = sorted({str(places["municipality"].iloc[r]) for r in named})
            raise ValueError(f"{name!r}: {places['name'].iloc[named[0]]!r} is in "
                             f"{', '.join(where)}, not in {name.rsplit(',', 1)[1].strip()!r}")
    if not rows:
        rows = hamlets.get(key, [])
    rows = list(dict.fromkeys(int(r) for r in rows))
    if len(rows) == 1:
        return _place_id(places, rows[0])
    if len(rows) > 1:
        raise _ambiguous(name, places, rows)
    known: dict[str, str] = {}
    for n in places["name"].astype(str):
        known.setdefault(n.casefold(), n)
    for names in (places["hamlets"] if "hamlets" in places.columns else []):
        for h in filter(None, str(names or "").split("; ")):
            known.setdefault(h.casefold(), h)
    close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.6)
    hint = ("; did you mean " + " or ".join(repr(known[c]) for c in close) + "?") if close \
        else "; give a town name, or '<parish> (land)' for a parish's open countryside"
    raise ValueError(f"{name!r} is not a place of the region{hint}")


# --------------------------------------------------------------------------- display
_COLUMNS = (("population", "inhabitants", "{:,.0f}"), ("share_65plus", "65+", "{:.0%}"),
            ("share_0_17", "0-17", "{:.0%}"), ("km_larger_town", "km larger town", "{:.0f}"),
            ("services", "services", "{:d}"), ("km_grocer", "km grocer", "{:.0f}"),
            ("municipal_trend_pct", "muni 16-21", "{:+.1f}%"))


def format_table(df: pd.DataFrame) -> str:
    """The output of :func:`similar` as a terminal table: the place first, then its matches.

    Each match's notes follow the table. Columns: inhabitants, share 65+, share 0-17, km to
    the nearest larger town, open service kinds (of 4), km to a grocer, the municipality's
    population change 2016-2021 and the distance in standard-score units.
    """
    if df.empty:
        return "no similar places found"
    ref = df.iloc[0]

    def row(label: str, name: str, muni: str, vals: dict, dist: str) -> dict:
        out = {"#": label, "place": name, "municipality": muni}
        for f, head, fmt in _COLUMNS:
            v = vals[f]
            out[head] = fmt.format(int(v) if fmt == "{:d}" else float(v))
        out["distance"] = dist
        return out

    lines = [row("", f"{ref['ref_name']} (this place)", ref["ref_municipality"],
                 {f: ref[f"{f}_ref"] for f, _, _ in _COLUMNS}, "")]
    for _, r in df.iterrows():
        lines.append(row(str(int(r["rank"])), r["name"], r["municipality"],
                         {f: r[f] for f, _, _ in _COLUMNS}, f"{r['distance']:.2f}"))
    table = pd.DataFrame(lines).to_string(index=False)
    notes = [f"{int(r['rank'])}. {r['name']}: {r['note']}" for _, r in df.iterrows()]
    footer = ("distance: Euclidean over standardised features (0 = identical); muni 16-21: the "
              "municipality's population change 2016-2021 (no place-level history exists)")
    return "\n".join([table, "", "where the context differs:", *notes, "", footer])
