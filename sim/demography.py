"""Yearly demography: ageing, deaths, births, leaving home, employment.

Rates come from ``data/``: Danish death rates by sex and single year of age (latest year
2012, lowered by ``mortality_improvement`` per year since), and 2020 age-specific fertility
rates by 5-year age of mother; the sex ratio at birth is the 2020 gross reproduction rate over
the total fertility rate (girls per birth). Everything is vectorised over persons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import data, kernels, rng
from .household import Households, Persons, Population
from .params import DemographyParams
from .rng import Streams


@dataclass(frozen=True)
class Rates:
    """Per-age probabilities used by :func:`step`.

    Attributes:
        death: Yearly death probability, shape (2, 111) by sex (0 m, 1 f) and age.
        birth: Yearly birth probability per woman by age, shape (111,).
        girl_share: Probability a newborn is a girl.
    """

    death: np.ndarray
    birth: np.ndarray
    girl_share: float


def load_rates(params: DemographyParams) -> Rates:
    """Build rates from the shipped mortality and fertility tables."""
    m = data.mortality()
    m = m[m["year"] == params.mortality_year]
    death = np.zeros((2, 111))
    for s, code in enumerate(("m", "f")):
        sub = m[m["sex"] == code].sort_values("age")
        rate = sub["death_rate_per_1000"].to_numpy(float) / 1000.0
        ages = sub["age"].to_numpy(int)
        if len(ages) == 0:
            raise data.DataError(f"{data.data_dir() / data.FILES['mortality']}: no rows for "
                                 f"sex '{code}' in year {params.mortality_year}; choose another "
                                 "demography.mortality_year (2000-2012)")
        death[s, ages] = rate
        death[s, ages.max():] = rate[-1]  # 99+ applies to every older age
    death = 1.0 - np.exp(-death)
    f = data.fertility()
    lo = f["mother_age_group"].str.split("-").str[0].astype(int).to_numpy()
    birth = np.zeros(111)
    for a, r in zip(lo, f["asfr_per_1000_women"].to_numpy(float), strict=True):
        birth[a:a + 5] = r / 1000.0
    summ = data.fertility_summary()
    tfr = float(summ.loc[summ["measure"].str.startswith("total fertility"), "value"].iloc[0])
    grr = float(summ.loc[summ["measure"].str.startswith("gross reproduction"), "value"].iloc[0])
    return Rates(death=death, birth=birth * params.fertility_multiplier, girl_share=grr / tfr)


@dataclass
class DemographyResult:
    """Per-place persons counts of the year's demographic events."""

    births: np.ndarray
    deaths: np.ndarray
    leaver_hid: np.ndarray  # household ids of the one-person households formed by leavers
    parent_hid: np.ndarray  # household id each leaver came from (to return to if unhoused)
    #: Rows of those households after the year's compaction (-1: removed), or None; later
    #: stages only append rows, so relocation finds them without a search by id.
    leaver_row: np.ndarray | None = None
    parent_row: np.ndarray | None = None


def form_unions(pop: Population, params: DemographyParams, u: Callable,
                alive: np.ndarray | None = None, exclude: np.ndarray | None = None,
                place: np.ndarray | None = None) -> int:
    """Pair adults living alone into couples within their place; returns the number of unions.

    Women living alone (housed one-person households, aged 20-59) look for a partner with
    probability ``union_rate``; each place then takes as many men living alone (20-59) as it
    has such women, chosen by their keyed draws, and women and men are matched by age
    rank. The man moves into the woman's household (his household is left empty and removed
    with the year's compaction). The number of unions is thus the women's (expected:
    ``union_rate`` times the women living alone, proportional to the scale) unless a place
    lacks men, not the smaller of two random counts per place, which loses the unions of
    small places at a small scale (issue 12). Households in ``exclude`` (a young adult just
    left them and may need to return) do not take part this year. ``u(ids, slot)`` gives
    keyed uniforms (see :func:`step`); ``place`` is every person's place if already known.
    """
    from .population import choose_per_place, pair_by_rank

    p = pop.persons
    hh = pop.households
    alive = np.ones(len(p), bool) if alive is None else alive
    size = np.bincount(p.hh[alive], minlength=len(hh))
    alone = (size == 1) & hh.housed
    if exclude is not None:
        alone[: len(exclude)] &= ~exclude
    single = np.flatnonzero(alive & kernels.gather(alone, p.hh))
    single = single[(p.age[single] >= 20) & (p.age[single] < 60)]
    if len(single) == 0:
        return 0
    # one draw per household: a woman living alone looks for a partner with union_rate; a
    # man's draw ranks him among the men of his place (the smallest are taken)
    u_hh = u(hh.key[p.hh[single]], 5)
    women = single[(p.sex[single] == 1) & (u_hh < params.union_rate)]
    is_man = p.sex[single] == 0
    men_all, u_men = single[is_man], u_hh[is_man]
    if place is None:
        place = kernels.gather(hh.place, p.hh)
    n = int(place[single].max()) + 1
    nw = np.bincount(place[women], minlength=n)
    men = men_all[choose_per_place(place[men_all], np.ones(len(men_all)), nw, u_men)]
    wives, husbands = pair_by_rank(place, women, p.age[women] + u(p.pid[women], 6), men,
                                   p.age[men] + u(p.pid[men], 6))
    p.hh[husbands] = p.hh[wives]
    return len(wives)


def step(pop: Population, rates: Rates, params: DemographyParams, year: int, n_places: int,
         streams: Streams) -> DemographyResult:
    """Advance persons one year; returns events per place.

    Order: ageing, deaths, births (to surviving women), employment changes, leaving home (new
    single households, not yet housed: relocation must find them a dwelling), unions of
    adults living alone. Households left without members are removed.

    Every draw is keyed by the person's id (or the household's key) through
    ``streams.keyed_uniform("demography", ...)``, so a person's fate in a year does not depend
    on what happens to anyone else. A newborn's id is derived from its mother's id and the
    year, a leaver's new household's id from the leaver's id and the year
    (:func:`sim.rng.derived_ids`), so they are the same in every run where the mother (the
    leaver) exists, whatever else differs.
    """

    def u(ids: np.ndarray, slot: int) -> np.ndarray:
        return streams.keyed_uniform("demography", ids, year, slot)

    p = pop.persons
    p.age = np.minimum(p.age + 1, 110).astype(np.int16)
    pop.households.years = (pop.households.years + 1).astype(np.int16)
    place = kernels.gather(pop.households.place, p.hh)

    improve = (1.0 - params.mortality_improvement) ** max(year - params.mortality_year, 0)
    # the same products, 222 instead of 1.3 M, read by one flat index (a 2-d index converts
    # both person-sized index arrays first)
    table = rates.death * improve
    q = table.ravel()[p.sex.astype(np.intp) * table.shape[1] + p.age]
    dies = u(p.pid, 0) < q
    deaths = np.bincount(place[dies], minlength=n_places)

    mothers = np.flatnonzero(~dies & (p.sex == 1) & kernels.gather(rates.birth > 0, p.age))
    gives = mothers[u(p.pid[mothers], 1) < rates.birth[p.age[mothers]]]
    gives = gives[np.argsort(p.pid[gives], kind="stable")]  # babies in order of mother id
    births = np.bincount(place[gives], minlength=n_places)
    babies = Persons(
        age=np.zeros(len(gives), np.int16),
        sex=(u(p.pid[gives], 2) < rates.girl_share).astype(np.int8),
        hh=p.hh[gives].copy(), child=np.ones(len(gives), bool),
        employed=np.zeros(len(gives), bool), workplace=np.full(len(gives), -1, np.int32),
        # the mother and the year name the baby: the same baby in every arm she exists in
        pid=pop.claim_pids(rng.derived_ids(rng.ID_NEWBORN, p.pid[gives], year)))

    # employment: retirement, exits, entries (working age, 18 to the pension age)
    working = np.flatnonzero((p.age >= 18) & (p.age < params.retirement_age))
    retired = np.flatnonzero(p.employed & (p.age >= params.retirement_age))
    uw = u(p.pid[working], 3)
    was = p.employed[working]
    stop = working[was & (uw < params.employment_exit_rate)]
    enter = working[~was & (uw < params.employment_entry_rate)]
    p.employed[stop] = False
    p.employed[retired] = False
    p.employed[enter] = True
    p.workplace[stop] = -1
    p.workplace[retired] = -1
    p.workplace[enter] = -1  # the model draws workplaces for workers without one
    # person-sized temporaries go before unions and the compaction (the step's memory peak)
    del q, table, working, retired, uw, was, stop, enter, mothers

    # leaving home: adult children form a one-person household in the same place
    adult_child = np.flatnonzero(p.child & (p.age >= 18) & ~dies)
    leave = (p.age[adult_child] >= params.leave_home_max_age) | \
        (u(p.pid[adult_child], 4) < params.leave_home_rate)
    leavers = adult_child[leave]
    n_new = len(leavers)
    hh = pop.households
    new_rows = np.arange(len(hh), len(hh) + n_new, dtype=np.int32)
    parent_row = p.hh[leavers]
    parent_rows = np.zeros(len(hh), bool)
    parent_rows[parent_row] = True
    parent_place = hh.place[p.hh[leavers]]
    parent_hid = hh.hid[p.hh[leavers]]
    leaver_hid = pop.claim_hids(rng.derived_ids(rng.ID_LEAVER_HOUSEHOLD, p.pid[leavers], year))
    hh.extend(Households(
        place=parent_place, hid=leaver_hid,
        car=np.zeros(n_new, bool), renter=np.ones(n_new, bool),
        years=np.zeros(n_new, np.int16), housed=np.zeros(n_new, bool),
        key=p.pid[leavers].copy()))
    p.hh[leavers] = new_rows
    p.child[leavers] = False

    # leavers keep their parents' place, so every person's place is still ``place``
    form_unions(pop, params, u, alive=~dies[: len(p)], exclude=parent_rows, place=place)

    del place, adult_child, leave  # person-sized temporaries, before the table is copied
    moved_to = pop.compact(~dies, extra=babies)
    return DemographyResult(births=births, deaths=deaths, leaver_hid=leaver_hid,
                            parent_hid=parent_hid, leaver_row=moved_to[new_rows],
                            parent_row=moved_to[parent_row])
