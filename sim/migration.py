"""Exchange of households with the rest of Denmark and abroad, by age and municipality.

The rates come from the data (:mod:`sim.migration_rates`: FOLK1A cohort residuals of the
years ``migration.net_years``) and from labelled assumptions:

**Out.** A household leaves the region with a yearly probability ``k * m(head age)``, where
``m`` is the Rogers-Castro model migration schedule (age shape; literature) and ``k`` is set
at start-up so that the expected persons leaving per resident equal ``migration.out_level``
(assumption, no regional figure found). Leavers are removed at the end of the year's
relocation step.

**In.** For each of the seven FOLK1A age bands, the in-migrating persons of the year are this
year's out-migrants of the band plus the band's net border migration rate (data: the
region's cohort residuals, moves between its municipalities cancel) times its current stock,
at the level ``migration.future_level`` (scenario assumption: low / central / high). The
in-migrant households copy households of the region, chosen per head-age band so that the
copied persons match the band targets (non-negative least squares), each household by a
keyed draw. Each arriving household enters through a municipality drawn by its head's band
from the data's in-migrant destinations (students and young adults mostly to Aarhus and the
education towns, families and seniors elsewhere) and a town of it drawn by population
(``migration.entry_size_exponent``; assumption: newcomers find a first home in town); it
then chooses where to live like any mover, with the distance decay from that entry place,
and arrives only if it finds a vacant dwelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.optimize import nnls

from . import data, kernels, rng
from .household import Households, Population
from .params import Parameters
from .rng import Streams
from .world import World

#: The FOLK1A age bands: lower bound of each (0-5, 6-16, 17-19, 20-34, 35-64, 65-79, 80+).
BAND_LOWS = np.array([lo for _, lo, _ in data.AGE_BANDS])


#: Band of every age 0..:data:`_BAND_LUT_AGES` - 1 (a table look-up instead of a search).
_BAND_LUT_AGES = 128
#: int8: a person-sized band array is 1 byte a person, not 8 (the values are 0..6).
_BAND_LUT = (np.searchsorted(BAND_LOWS, np.arange(_BAND_LUT_AGES), side="right") - 1
             ).astype(np.int8)


def band_of(age: np.ndarray) -> np.ndarray:
    """FOLK1A age band (0..6) of each age."""
    age = np.asarray(age)
    if age.dtype.kind in "iu" and age.size and 0 <= age.min() and age.max() < _BAND_LUT_AGES:
        return _BAND_LUT[age]
    return np.searchsorted(BAND_LOWS, age, side="right") - 1


def band_counts(age: np.ndarray) -> np.ndarray:
    """Persons per FOLK1A age band (int64): ``np.bincount(band_of(age), minlength=7)``.

    Counted by single age first, then summed per band (no person-sized band array).
    """
    age = np.asarray(age)
    if age.dtype.kind in "iu" and age.size and 0 <= age.min() and age.max() < _BAND_LUT_AGES:
        out = np.zeros(len(BAND_LOWS), np.int64)
        np.add.at(out, _BAND_LUT, np.bincount(age, minlength=_BAND_LUT_AGES))
        return out
    return np.bincount(band_of(age), minlength=len(BAND_LOWS))


def municipal_growth_pct(first: int, last: int) -> dict[int, float]:
    """Observed population change (%) per municipality code between two years (data)."""
    m = data.municipal_population()
    p = m.pivot_table(index="municipality_code", columns="year", values="population_1jan")
    return ((p[last] / p[first] - 1) * 100).to_dict()


def observed_growth_rate(first: int = 2016, last: int = 2021) -> float:
    """Mean yearly growth of the region's population between two years (data)."""
    m = data.municipal_population()
    tot = m.groupby("year")["population_1jan"].sum()
    return float((tot[last] / tot[first]) ** (1.0 / (last - first)) - 1.0)


def flow_years(params: Parameters) -> tuple[int, int]:
    """The observed flow years (start years) a run uses (see ``migration.net_years``)."""
    from .params import FIRST_FLOW_YEAR, LAST_FLOW_YEAR

    if params.migration.net_years is not None:
        return params.migration.net_years
    first, last = params.base_year - 5, params.base_year - 1
    if first < FIRST_FLOW_YEAR or last > LAST_FLOW_YEAR:
        raise ValueError(
            f"base year {params.base_year}: the five years before it are not all observed "
            f"({FIRST_FLOW_YEAR}-{LAST_FLOW_YEAR}); set migration.net_years to start years "
            "inside the calibration's fit window")
    return first, last


@cache
def _observed(years: tuple[int, int], level: str, demography_json: str, out_level: float,
              data_folder: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Net rate per band, destination shares (band x municipality) and municipality codes."""
    from . import migration_rates as mr
    from .params import DemographyParams

    res = mr.cohort_residuals(params=DemographyParams.model_validate_json(demography_json))
    scen = mr.future_migration_scenarios(res, years=years)
    net = (scen[scen["scenario"] == level].set_index("band")["net_rate"]
           .reindex(list(mr.BAND_NAMES)).to_numpy(float))
    dest = mr.inmigrant_destinations(res, level=out_level, years=years)
    codes = np.sort(dest["municipality_code"].unique()).astype(np.int64)
    share = (dest.pivot_table(index="band", columns="municipality_code", values="share")
             .reindex(index=list(mr.BAND_NAMES), columns=codes).fillna(0.0).to_numpy(float).copy())
    share /= np.maximum(share.sum(axis=1, keepdims=True), 1e-300)
    return net, share, codes


@dataclass(frozen=True)
class BorderRates:
    """The run's migration rates across the region's border (fixed at start-up).

    Attributes:
        out_scale: ``k`` of the out-migration probability ``k * m(head age)``.
        net_rate: Net border migration per person of each age band and year.
        entry_cdf: Per head band, the CDF over :attr:`municipalities` of the entry
            municipality of in-migrant households.
        municipalities: Municipality codes (order of the CDF columns).
        place_cdf: Per municipality, the CDF over its towns (by data population **
            ``migration.entry_size_exponent``).
        place_ids: Per municipality, the place indices of that CDF.
        years: The observed flow years used.
        domestic_share: Share of border moves to or from the rest of Denmark (not abroad):
            ``1 - national emigration rate / out_level`` (assumption: the region's moves
            abroad are at Denmark's 2019 rate, data/border_migration_quoted.csv; used only
            to count moves the way Statistics Denmark does).
    """

    out_scale: float
    net_rate: np.ndarray
    entry_cdf: np.ndarray
    municipalities: np.ndarray
    place_cdf: tuple[np.ndarray, ...]
    place_ids: tuple[np.ndarray, ...]
    years: tuple[int, int]
    domestic_share: float = 1.0

    def out_probability(self, head_age: np.ndarray) -> np.ndarray:
        """Yearly probability that a household with this head age leaves the region."""
        age = np.asarray(head_age)
        if age.dtype.kind in "iu" and age.size and 0 <= age.min() and age.max() < _BAND_LUT_AGES:
            # the schedule of every whole age, computed once (the same values, elementwise)
            return np.minimum(self.out_scale * _rogers_castro_by_age()[age], 1.0)
        return np.minimum(self.out_scale * rogers_castro(head_age), 1.0)

    def entry_places(self, head_band: np.ndarray, u_muni: np.ndarray,
                     u_place: np.ndarray) -> np.ndarray:
        """Entry place of in-migrant households by head band, from two uniforms each."""
        cdf = self.entry_cdf[head_band]
        m = np.minimum((cdf < u_muni[:, None]).sum(axis=1), len(self.municipalities) - 1)
        out = np.empty(len(m), np.int64)
        for k in np.unique(m):
            sel = m == k
            c = self.place_cdf[k]
            j = np.minimum(np.searchsorted(c, u_place[sel], side="right"), len(c) - 1)
            out[sel] = self.place_ids[k][j]
        return out


@cache
def _rogers_castro_by_age() -> np.ndarray:
    return rogers_castro(np.arange(_BAND_LUT_AGES))


def rogers_castro(age: np.ndarray) -> np.ndarray:
    """The Rogers-Castro (1981) fundamental model migration schedule at each age."""
    from .migration_rates import rogers_castro as rc

    return rc(np.asarray(age, float))


def border_rates(world: World, pop: Population, params: Parameters) -> BorderRates:
    """The border rates of a run from the data and the starting population.

    Raises:
        ValueError: If the flow years are not observed (see :func:`flow_years`).
    """
    years = flow_years(params)
    mp = params.migration
    net, share, codes = _observed(years, mp.future_level,
                                  params.demography.model_dump_json(), mp.out_level,
                                  str(data.data_dir()))
    size = pop.size()
    out_scale = mp.out_level * size.sum() / max(float((size * rogers_castro(
        pop.head_age())).sum()), 1e-12)
    muni = world.places["municipality_code"].to_numpy().astype(np.int64)
    town = (world.places["kind"] == "town").to_numpy()
    weight = np.power(np.maximum(world.places["population"].to_numpy(float), 1.0),
                      mp.entry_size_exponent)
    cdfs, ids = [], []
    for c in codes:
        where = np.flatnonzero((muni == c) & town)
        if len(where) == 0:
            where = np.flatnonzero(muni == c)
        w = np.maximum(weight[where], 1e-9)
        cdf = np.cumsum(w) / w.sum()
        cdf[-1] = 1.0
        cdfs.append(cdf)
        ids.append(where)
    entry = np.cumsum(share, axis=1)
    entry[:, -1] = 1.0
    from .migration_rates import national_emigration_rate

    domestic = float(np.clip(1.0 - national_emigration_rate(2019) / mp.out_level, 0.0, 1.0))
    return BorderRates(out_scale=float(out_scale), net_rate=net, entry_cdf=entry,
                       municipalities=codes, place_cdf=tuple(cdfs), place_ids=tuple(ids),
                       years=years, domestic_share=domestic)


def emigrate(pop: Population, p_leave: np.ndarray, n_places: int,
             u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Choose the households leaving the region this year.

    They are not removed here (relocation removes them with the year's other departures, in
    one compaction); they are marked unhoused so their dwellings count as vacant. ``u`` holds
    one uniform per household (keyed by the household, for common random numbers).

    Returns:
        (leave per household, persons out per place, persons out per age band).
    """
    hh = pop.households
    leave = hh.housed & (u < p_leave)
    p = pop.persons
    gone = kernels.gather(leave, p.hh)
    out = np.bincount(hh.place[p.hh[gone]], minlength=n_places)
    out_band = np.bincount(band_of(p.age[gone]), minlength=len(BAND_LOWS))
    hh.housed[leave] = False
    return leave, out, out_band


def template_copies(pop: Population, eligible: np.ndarray, target: np.ndarray,
                    u: np.ndarray, old_weight: float = 1.0,
                    head: np.ndarray | None = None) -> np.ndarray:
    """How many in-migrant copies of each household: expected persons match ``target``.

    Households are grouped by their head's age band; the expected households per group solve
    a non-negative least-squares fit of the copied persons by band to ``target``; a household
    of group ``g`` is then copied ``floor(e) + [u < e - floor(e)]`` times with
    ``e = n_g / N_g``. ``old_weight`` makes households headed 55+ that many times as likely,
    keeping the expected persons.

    Args:
        pop: The population (templates are its households).
        eligible: Per household, whether it may serve as a template (housed, staying).
        target: In-migrant persons wanted per age band.
        u: One keyed uniform per household.
        old_weight: Relative weight of templates headed 55+.
        head: The households' head ages (:meth:`Population.head_age`), if already known.
    """
    n_bands = len(BAND_LOWS)
    hh_n = len(pop.households)
    head = pop.head_age() if head is None else head
    group = band_of(head)
    p = pop.persons
    size = np.bincount(p.hh, minlength=hh_n)
    ok = eligible & (size > 0)
    n_group = np.bincount(group[ok], minlength=n_bands).astype(float)
    # persons by (head band of their household, own band) over the eligible households:
    # integer counts, so the float sums are exact in any order
    m = kernels.place_group_counts(group, p.hh, band_of(p.age), n_bands, n_bands,
                                   hh_mask=ok).astype(float)
    m = m / np.maximum(n_group[:, None], 1.0)
    n_hh, _ = nnls(m.T, np.maximum(np.asarray(target, float), 0.0))
    # the ratio per band, then read per household: the same division, 7 times not H times
    e = np.where(ok, (n_hh / np.maximum(n_group, 1.0))[group], 0.0)
    if old_weight != 1.0:
        before = (e * size).sum()
        e = e * np.where(head >= 55, old_weight, 1.0)
        e *= before / max((e * size).sum(), 1e-12)
    base = np.floor(e)
    return (base + (u < e - base)).astype(np.int64)


def append_copies(pop: Population, copies: np.ndarray, places: np.ndarray,
                  year: int) -> np.ndarray:
    """Append copies of households (unhoused, at their entry places); returns the new rows.

    ``copies[h]`` copies of household ``h``; ``places`` holds one entry place per copy in the
    order of the new rows (households in row order, copies consecutive). A copied person's id
    is derived from ``year``, the id of the member it copies and the copy number, the
    household's from its first member's (:func:`sim.rng.derived_ids`): the same arrival has
    the same ids in every run where its template exists.
    """
    rows = np.repeat(np.arange(len(copies)), copies)
    hh = pop.households
    tp = pop.persons
    if len(rows) == 0:
        return np.zeros(0, np.int64)
    # members of the copied households only, in household order (persons in row order)
    members = np.flatnonzero(kernels.gather(copies, tp.hh) > 0)
    order = members[np.argsort(tp.hh[members], kind="stable")]
    size = np.bincount(tp.hh[members], minlength=len(hh))
    starts = np.searchsorted(tp.hh[order], rows)
    n_mem = size[rows]
    member_idx = order[np.repeat(starts, n_mem) + _ramp(n_mem)]
    new_rows = np.arange(len(hh), len(hh) + len(rows))
    newp = tp.take(member_idx)
    newp.hh = np.repeat(new_rows, n_mem).astype(np.int32)
    newp.workplace = np.full(len(newp), -1, np.int32)
    copy_no = np.arange(len(rows)) - np.repeat(np.cumsum(copies) - copies, copies)
    newp.pid = pop.claim_pids(rng.derived_ids(rng.ID_IN_MIGRANT, year, tp.pid[member_idx],
                                              np.repeat(copy_no, n_mem)))
    first = np.concatenate([[0], np.cumsum(n_mem)[:-1]])
    hh.extend(Households(
        place=np.asarray(places, np.int32),
        hid=pop.claim_hids(rng.derived_ids(rng.ID_IN_MIGRANT_HOUSEHOLD, newp.pid[first])),
        car=hh.car[rows].copy(), renter=hh.renter[rows].copy(),
        years=np.zeros(len(rows), np.int16), housed=np.zeros(len(rows), bool),
        key=newp.pid[first].copy()))
    pop.persons.extend(newp)
    return new_rows


def _ramp(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each c in counts, concatenated."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - starts


def natural_balance_rate(pop: Population, death: np.ndarray, birth: np.ndarray,
                         death_factor: float = 1.0) -> float:
    """Expected (births - deaths) per person in the coming year for ``pop``.

    ``death_factor`` scales the death probabilities as the run will (mortality improvement
    since the rates' year).
    """
    p = pop.persons
    deaths = death_factor * death[p.sex, np.minimum(p.age + 1, 110)].sum()
    births = birth[np.minimum(p.age + 1, 110)][p.sex == 1].sum()
    return float((births - deaths) / max(len(p), 1))


@dataclass(frozen=True)
class MigrationResult:
    """The year's exchange with the rest of Denmark and abroad (before relocation).

    Attributes:
        leaving: Per household row present before arrivals: leaves the region this year
            (marked unhoused; removed by relocation's compaction).
        emigrants: Persons leaving, per place.
        incoming: Per household row (arrivals included): an in-migrant looking for a
            dwelling.
        n_before: Household rows before the arrivals were appended.
        head_age: Age of the head of every household row (arrivals included).
        out_by_band: Persons leaving per age band.
        target_by_band: In-migrant persons wanted per age band.
    """

    leaving: np.ndarray
    emigrants: np.ndarray
    incoming: np.ndarray
    n_before: int
    head_age: np.ndarray
    out_by_band: np.ndarray
    target_by_band: np.ndarray


def run(pop: Population, rates: BorderRates, old_weight: float, n_places: int,
        streams: Streams, year: int) -> MigrationResult:
    """Out-migration, then in-migrant households appended (unhoused) to ``pop``.

    Args:
        pop: The population after demography (arrivals are appended to it).
        rates: The run's border rates.
        old_weight: Relative weight of template households headed 55+ (trends).
        n_places: Number of places.
        streams: The run's streams.
        year: The year simulated.
    """
    hh = pop.households
    head_age = pop.head_age()
    stock = band_counts(pop.persons.age)
    leaving, emigrants, out_band = emigrate(
        pop, rates.out_probability(head_age), n_places,
        streams.uniform(rng.EMIGRATION, hh.key, year))
    target = np.maximum(out_band + rates.net_rate * stock, 0.0)
    eligible = hh.housed & ~leaving
    copies = template_copies(pop, eligible, target,
                             streams.uniform(rng.IN_MIGRANT_TEMPLATE, hh.key, year), old_weight,
                             head=head_age)
    n_before = len(hh)
    # the copies' entry places, keyed by template household and copy number
    rows = np.repeat(np.arange(n_before), copies)
    copy_no = np.arange(len(rows)) - np.repeat(np.cumsum(copies) - copies, copies)
    ident = hh.key[rows] * 16 + copy_no
    entry = rates.entry_places(band_of(head_age[rows]),
                               streams.uniform(rng.IN_MIGRANT_ENTRY, ident, year),
                               streams.uniform(rng.IN_MIGRANT_PLACE, ident, year))
    new_rows = append_copies(pop, copies, entry, year)
    incoming = np.zeros(len(pop.households), bool)
    incoming[new_rows] = True
    return MigrationResult(leaving=leaving, emigrants=emigrants, incoming=incoming,
                           n_before=n_before,
                           head_age=np.concatenate([head_age, head_age[rows]]).astype(np.int16),
                           out_by_band=out_band, target_by_band=target)
