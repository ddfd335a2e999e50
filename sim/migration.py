"""Exchange of households with the rest of Denmark and abroad.

**Out.** A household leaves the region with a yearly probability by the age of its head
(``emigration_rate_by_age``, highest for young adults).

They are removed at the end of the year's relocation step.

**In.** The number of in-migrating persons each year is this year's out-migrating persons
plus ``net_migration_rate`` times the population. Unless set, that rate is derived at start-up
from data: the region's observed mean yearly growth over the five years before the base year
(2016-2021 for the 2021 base; never a year after the base year) minus the
model's own expected natural balance (births minus deaths per person) in the starting
population. In-migrant households copy the composition of households drawn from this year's
out-migrants (so in- and out-migration share an age profile); they then choose a place like
any mover, without a distance term, and arrive only if they find a vacant dwelling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import data, rng
from .household import Households, Population
from .params import MigrationParams
from .rng import Streams

AGE_EDGES = (30, 45, 65)


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


def emigrate(pop: Population, head_age: np.ndarray, rates: tuple[float, ...], n_places: int,
             u: np.ndarray) -> tuple[np.ndarray, np.ndarray, Population]:
    """Choose the households leaving the region this year.

    They are not removed here (the model removes them with the year's other departures, in
    one compaction); they are marked unhoused so their dwellings count as vacant. ``u`` holds
    one uniform per household (keyed by the household, for common random numbers).

    Returns:
        (leave, persons out per place, the leaving households as a separate table).
    """
    hh = pop.households
    band = np.searchsorted(np.asarray(AGE_EDGES), head_age, side="right")
    leave = hh.housed & (u < np.asarray(rates)[band])
    p = pop.persons
    gone = leave[p.hh]
    out = np.bincount(hh.place[p.hh[gone]], minlength=n_places)
    rows = np.flatnonzero(leave)
    remap = np.full(len(hh), -1, np.int64)
    remap[rows] = np.arange(len(rows))
    leavers_p = p.take(gone)
    leavers_p.hh = remap[leavers_p.hh].astype(np.int32)
    leavers = Population(hh.take(rows), leavers_p, next_hid=0)
    hh.housed[rows] = False
    return leave, out, leavers


def immigrants(pop: Population, template: Population, n_persons: int,
               rng: np.random.Generator, old_weight: float = 1.0) -> np.ndarray:
    """Append in-migrant households (unhoused, place 0) copying ``template`` households.

    Returns the household rows added. If there is no template (no out-migrants), households
    of the current population with a head under 45 are copied instead. ``old_weight`` makes
    template households headed 55+ that many times as likely to be copied.
    """
    if n_persons <= 0:
        return np.zeros(0, np.int64)
    if len(template.households) == 0:
        src_rows = np.flatnonzero(pop.head_age() < 45)
        template = pop
    else:
        src_rows = np.arange(len(template.households))
    if len(src_rows) == 0:
        return np.zeros(0, np.int64)
    size = np.bincount(template.persons.hh, minlength=len(template.households))[src_rows]
    mean = max(size.mean(), 1.0)
    k = int(np.ceil(n_persons / mean * 1.2)) + 1
    if old_weight == 1.0:
        pick = src_rows[rng.integers(0, len(src_rows), k)]
    else:
        w = np.where(template.head_age()[src_rows] >= 55, old_weight, 1.0)
        pick = src_rows[rng.choice(len(src_rows), size=k, p=w / w.sum())]
    sizes = np.bincount(template.persons.hh, minlength=len(template.households))[pick]
    keep = np.cumsum(sizes) <= n_persons
    if not keep.any():
        keep[0] = True
    pick = pick[keep]
    # copy members of each picked household
    tp = template.persons
    order = np.argsort(tp.hh, kind="stable")
    starts = np.searchsorted(tp.hh[order], pick)
    counts = np.bincount(tp.hh, minlength=len(template.households))[pick]
    member_idx = order[np.repeat(starts, counts) + _ramp(counts)]
    new_rows = np.arange(len(pop.households), len(pop.households) + len(pick))
    newp = tp.take(member_idx)
    newp.hh = np.repeat(new_rows, counts).astype(np.int32)
    newp.workplace = np.full(len(newp), -1, np.int32)
    newp.pid = pop.new_pids(len(newp))
    newp.employed = newp.employed.copy()
    th = template.households
    pop.households.extend(Households(
        place=np.zeros(len(pick), np.int32), hid=pop.new_hids(len(pick)),
        car=th.car[pick].copy(), renter=th.renter[pick].copy(),
        years=np.zeros(len(pick), np.int16), housed=np.zeros(len(pick), bool),
        key=newp.pid[np.concatenate([[0], np.cumsum(counts)[:-1]])].copy()))
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
    """

    leaving: np.ndarray
    emigrants: np.ndarray
    incoming: np.ndarray
    n_before: int
    head_age: np.ndarray


def run(pop: Population, params: MigrationParams, net_rate: float, old_weight: float,
        n_places: int, streams: Streams, year: int) -> MigrationResult:
    """Out-migration, then in-migrant households appended (unhoused) to ``pop``.

    Args:
        pop: The population after demography (arrivals are appended to it).
        params: Migration parameters.
        net_rate: Net in-migration per person and year.
        old_weight: Relative weight of template households headed 55+ (trends).
        n_places: Number of places.
        streams: The run's streams.
        year: The year simulated.
    """
    head_age = pop.head_age()
    leaving, emigrants, out_tbl = emigrate(
        pop, head_age, params.emigration_rate_by_age, n_places,
        streams.uniform(rng.EMIGRATION, pop.households.key, year))
    # in-migrants: out-migrant persons this year plus the net rate (rounded at random)
    n_now = len(pop.persons) - len(out_tbl.persons)
    expected = emigrants.sum() + net_rate * n_now
    frac = expected - np.floor(expected)
    n_in = int(np.floor(expected) + (streams.get("relocation", year).random() < frac))
    n_before = len(pop.households)
    rows = immigrants(pop, out_tbl, n_in, streams.get("immigration", year),
                      old_weight=old_weight)
    hh = pop.households
    pp = pop.persons
    incoming = np.zeros(len(hh), bool)
    incoming[rows] = True
    imm_head = np.zeros(len(rows), np.int16)
    if len(rows):
        sel = incoming[pp.hh] & ~pp.child
        np.maximum.at(imm_head, pp.hh[sel] - n_before, pp.age[sel])
    return MigrationResult(leaving=leaving, emigrants=emigrants, incoming=incoming,
                           n_before=n_before, head_age=np.concatenate([head_age, imm_head]))
