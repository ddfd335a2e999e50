"""Synthetic household population matching parish totals and municipal age structure.

1. **Persons.** Each place gets ``round(population * scale)`` persons (stochastic rounding
   below 1:1). Ages and sexes are drawn from the municipality's 2014 single-year age-sex
   table, *exponentially tilted* per parish (weights ``p(a) * exp(theta * a)``, ``theta``
   solved by bisection) so the expected mean age equals the parish's 2021 mean age; a town
   spanning several parishes mixes their tables by the people it takes from each.
2. **Couples.** Women and men aged 18+ are partnered with the age-specific shares of
   ``couple_share_by_age``; within each place they are paired by age rank (men shifted by
   ``partner_age_gap``), so partners are of similar age. Unmatched ones stay single.
3. **Children.** Everyone under 18, and a share of single 18-21-year-olds, joins the household
   of a woman in the same place whose age is nearest to the child's age plus a mother's age at
   birth drawn from the 2020 age-specific fertility rates.
4. **Attributes.** Employment by age; workplace by a gravity rule over jobs whose distance
   decay is solved so the mean commute equals DST's 21.5 km; car ownership and tenure
   log-linear in place size; years at the address from the stage's moving rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import data
from .household import Households, Persons, Population
from .jobs import Jobs, sample_rows
from .params import Parameters, PopulationParams
from .world import World

MAX_AGE = 110


def age_sex_table(world: World) -> tuple[np.ndarray, np.ndarray]:
    """Per-parish probabilities over (sex, age), tilted to the parish mean age.

    Returns:
        (probs, theta): probs has shape (n_parishes, 2 * (MAX_AGE + 1)) with index
        ``sex * (MAX_AGE + 1) + age``; theta is the tilt per parish.
    """
    a = data.age_sex_2014()
    par = data.parishes()
    munis = np.sort(a["municipality_code"].unique())
    table = np.zeros((len(munis), 2, MAX_AGE + 1))
    mi = np.searchsorted(munis, a["municipality_code"].to_numpy())
    si = (a["sex"].to_numpy() == "f").astype(int)
    np.add.at(table, (mi, si, a["age"].to_numpy().astype(int)), a["population"].to_numpy())
    pm = np.searchsorted(munis, par["municipality_code"].to_numpy())
    if not np.all(munis[np.minimum(pm, len(munis) - 1)] == par["municipality_code"].to_numpy()):
        raise data.DataError(f"{data.data_dir() / data.FILES['age_sex']}: a municipality of the "
                             "parish file has no age-sex rows; restore the shipped file")
    base = table[pm].reshape(len(par), -1)
    base = base / base.sum(axis=1, keepdims=True)
    ages = np.tile(np.arange(MAX_AGE + 1), 2).astype(float)
    target = par["mean_age"].to_numpy(float)
    lo = np.full(len(par), -0.3)
    hi = np.full(len(par), 0.3)
    for _ in range(50):
        mid = (lo + hi) / 2
        w = base * np.exp(mid[:, None] * (ages - 40))
        mean = (w * ages).sum(1) / w.sum(1)
        lo = np.where(mean < target, mid, lo)
        hi = np.where(mean < target, hi, mid)
    theta = (lo + hi) / 2
    w = base * np.exp(theta[:, None] * (ages - 40))
    return w / w.sum(1, keepdims=True), theta


def place_age_sex_probs(world: World) -> np.ndarray:
    """Age-sex probabilities per place: the mix of its parishes' tilted tables.

    A town that spans several parishes takes each parish's table in proportion to the people
    it draws from that parish (``world.allocation``).
    """
    probs, _ = age_sex_table(world)
    par = data.parishes()
    pidx = pd.Series(np.arange(len(par)), index=par["parish_code"].to_numpy())
    a = world.allocation
    mix = np.zeros((world.n, len(par)))
    np.add.at(mix, (a["place_id"].to_numpy(), pidx.loc[a["parish_code"]].to_numpy()),
              a["persons"].to_numpy())
    mix /= np.maximum(mix.sum(axis=1, keepdims=True), 1e-12)
    out = mix @ probs
    return out / out.sum(axis=1, keepdims=True)


def _stochastic_round(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    base = np.floor(x)
    return (base + (rng.random(len(x)) < x - base)).astype(np.int64)


def _band(age: np.ndarray, edges: tuple[int, ...]) -> np.ndarray:
    return np.searchsorted(np.asarray(edges), age, side="right")


def _rank_within(group: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order sorting by (group, key) and each element's rank within its group."""
    order = np.lexsort((key, group))
    g = group[order]
    start = np.searchsorted(g, g, side="left")
    rank = np.empty(len(group), np.int64)
    rank[order] = np.arange(len(group)) - start
    return order, rank


def pair_couples(place: np.ndarray, age: np.ndarray, sex: np.ndarray, p: PopulationParams,
                 rng: np.random.Generator) -> np.ndarray:
    """Partner index per person (-1 if single), pairing by age rank within each place."""
    edges = (25, 35, 65, 80)
    share = np.asarray(p.couple_share_by_age)
    adult = age >= 18
    eff_age = np.where(sex == 1, age, age - p.partner_age_gap)
    wants = adult & (rng.random(len(age)) < share[_band(np.maximum(eff_age, 18), edges)])
    partner = np.full(len(age), -1, np.int64)
    women = np.flatnonzero(wants & (sex == 1))
    men = np.flatnonzero(wants & (sex == 0))
    n_places = int(place.max()) + 1 if len(place) else 0
    nw = np.bincount(place[women], minlength=n_places)
    nm = np.bincount(place[men], minlength=n_places)
    k = np.minimum(nw, nm)
    noise_w = rng.random(len(women))
    noise_m = rng.random(len(men))
    _ow, rw = _rank_within(place[women], eff_age[women] + noise_w)
    om, _rm = _rank_within(place[men], eff_age[men] + noise_m)
    men_sorted = men[om]
    start_m = np.concatenate([[0], np.cumsum(nm)[:-1]])
    ok = rw < k[place[women]]
    w_ok = women[ok]
    m_ok = men_sorted[start_m[place[w_ok]] + rw[ok]]
    partner[w_ok] = m_ok
    partner[m_ok] = w_ok
    return partner


def mother_age_distribution() -> tuple[np.ndarray, np.ndarray]:
    """Ages 15..49 and the probability a birth is to a mother of that age (ASFR 2020)."""
    f = data.fertility()
    lo = f["mother_age_group"].str.split("-").str[0].astype(int).to_numpy()
    rate = f["asfr_per_1000_women"].to_numpy(float)
    ages = np.concatenate([np.arange(a, a + 5) for a in lo])
    w = np.repeat(rate, 5)
    return ages, w / w.sum()


def expected_children_at_home(age: np.ndarray, max_child_age: int = 17) -> np.ndarray:
    """Expected number of own children aged 0..max_child_age for a woman of ``age``.

    Sum of the 2020 age-specific fertility rates over the ages at which she bore them.
    """
    m_ages, _ = mother_age_distribution()
    f = data.fertility()
    rate = np.repeat(f["asfr_per_1000_women"].to_numpy(float) / 1000.0, 5)
    asfr = np.zeros(130)
    asfr[m_ages] = rate
    k = np.arange(max_child_age + 1)
    at_birth = np.clip(age[:, None].astype(int) - k[None, :], 0, 129)
    return asfr[at_birth].sum(axis=1)


def assign_children(place: np.ndarray, age: np.ndarray, sex: np.ndarray, is_child: np.ndarray,
                    hh: np.ndarray, p: PopulationParams, rng: np.random.Generator) -> np.ndarray:
    """Household of each child: a woman's in the same place, matched by age.

    Within a place, children sorted by their likely mother's age (own age plus a mother's age
    at birth drawn from the ASFR) are dealt to women sorted by age, each woman taking a share
    proportional to her expected number of children at home (from the same rates), so
    siblings arise where they should. Children in a place without such women go to the
    nearest-age adult of the place; a child with no adult in its place keeps its own household
    (possible only in tiny places at small scales).
    """
    kids = np.flatnonzero(is_child)
    m_ages, m_prob = mother_age_distribution()
    target = age[kids] + rng.choice(m_ages, size=len(kids), p=m_prob)
    out = hh.copy()
    n_places = int(place.max()) + 1 if len(place) else 0
    women = np.flatnonzero((sex == 1) & ~is_child & (age >= p.mother_age_min))
    weight = expected_children_at_home(age[women], 21)
    women, weight = women[weight > 0], weight[weight > 0]
    wsum = np.bincount(place[women], weights=weight, minlength=n_places)
    nk = np.bincount(place[kids], minlength=n_places)
    served = wsum[place[kids]] > 0
    big = float(max(nk.max(initial=0), 1) + 2)
    if served.any():
        order_w = np.lexsort((age[women] + rng.random(len(women)), place[women]))
        women, weight = women[order_w], weight[order_w]
        pw = place[women]
        cum = np.cumsum(weight)
        before = np.concatenate([[0.0], cum])[np.searchsorted(pw, pw, side="left")]
        within = (cum - before) / wsum[pw] * nk[pw]
        key = pw * big + within
        k_idx = kids[served]
        _, rank = _rank_within(place[k_idx], target[served] + rng.random(len(k_idx)) * 0.1)
        q = place[k_idx] * big + rank + 0.5
        pos = np.minimum(np.searchsorted(key, q), len(women) - 1)
        out[k_idx] = hh[women[pos]]
    rest = kids[~served]
    adults = np.flatnonzero(~is_child & (age >= 18))
    if len(rest) and len(adults):
        key = place[adults] * 1000.0 + age[adults]
        o = np.argsort(key, kind="stable")
        adults, key = adults[o], key[o]
        t = place[rest] * 1000.0 + age[rest] + 30
        pos = np.clip(np.searchsorted(key, t), 0, len(adults) - 1)
        cand = np.stack([np.maximum(pos - 1, 0), pos])
        dist = np.abs(key[cand] - t)
        dist[place[adults[cand]] != place[rest]] = np.inf
        pick = np.take_along_axis(cand, dist.argmin(0)[None], 0)[0]
        found = np.isfinite(dist.min(0))
        out[rest[found]] = hh[adults[pick[found]]]
    return out


def synthesize(world: World, params: Parameters,
               rng: np.random.Generator) -> tuple[Population, Jobs]:
    """Build the starting population at ``params.scale`` and the run's jobs.

    Args:
        world: Places (their ``population`` column is the target per place); not modified.
        params: Full parameter set (population, demography, relocation parts are used).
        rng: The ``population`` stream.

    Returns:
        The population and its jobs (spread from its workers; see :mod:`sim.jobs`).
    """
    pp = params.population
    pop_place = world.places["population"].to_numpy(float)
    n_per_place = _stochastic_round(pop_place * params.scale, rng) if params.scale < 1 \
        else pop_place.astype(np.int64)
    place = np.repeat(np.arange(world.n), n_per_place).astype(np.int32)
    probs = place_age_sex_probs(world)
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    col = sample_rows(cum, place, rng)
    sex = (col // (MAX_AGE + 1)).astype(np.int8)
    age = (col % (MAX_AGE + 1)).astype(np.int16)
    n = len(age)

    partner = pair_couples(place, age, sex, pp, rng)
    hh = np.arange(n, dtype=np.int64)
    in_couple = partner >= 0
    hh[in_couple & (sex == 0)] = partner[in_couple & (sex == 0)]  # man joins the woman's
    young_single = (age >= 18) & (age <= 21) & ~in_couple
    child = (age < 18) | (young_single & (rng.random(n) < pp.share_18_21_with_parents))
    hh = assign_children(place, age, sex, child, hh, pp, rng)
    # renumber households 0..H-1
    uniq, hh_row = np.unique(hh, return_inverse=True)
    hh_place = place[uniq]

    # employment
    emp_rate = np.asarray(pp.employment_rate_by_age)
    working_age = (age >= 18) & (age < params.demography.retirement_age)
    band = np.where(age < 25, 0, np.where(age < 60, 1, 2))
    employed = working_age & (rng.random(n) < emp_rate[band])
    jobs = Jobs.build(world, np.bincount(place[employed], minlength=world.n),
                      employed.sum() / params.scale, params.world.jobs_scaling_exponent,
                      params.world.commute_mean_km)
    workplace = np.full(n, -1, np.int32)
    workplace[employed] = jobs.choose(place[employed], rng)

    persons = Persons(age=age, sex=sex, hh=hh_row.astype(np.int32), child=child,
                      employed=employed, workplace=workplace, pid=np.arange(n, dtype=np.int64))
    n_hh = len(uniq)
    size_rank = np.log(np.maximum(pop_place, 1)) / np.log(pop_place.max())
    countryside = world.places["kind"].to_numpy() == "countryside"
    size_rank = np.where(countryside, 0.0, size_rank)
    car_p = pp.car_share[0] + (pp.car_share[1] - pp.car_share[0]) * size_rank
    rent_p = pp.renter_share[0] + (pp.renter_share[1] - pp.renter_share[0]) * size_rank
    households = Households(
        place=hh_place.astype(np.int32), hid=np.arange(n_hh, dtype=np.int64),
        car=rng.random(n_hh) < car_p[hh_place], renter=rng.random(n_hh) < rent_p[hh_place],
        years=np.zeros(n_hh, np.int16), housed=np.ones(n_hh, bool),
        key=uniq.astype(np.int64))  # the person whose index named the household
    popn = Population(households, persons)
    stage = popn.stage()
    rate = np.asarray(params.relocation.move_rate)[stage]
    head = popn.head_age()
    since_18 = np.maximum(head - 18, 0)
    # a stage that never moves (move_rate 0, a documented bound) has lived there since 18:
    # a vanishing rate keeps one draw per household (the same stream as other rates)
    years = rng.geometric(np.maximum(rate, 1e-12)) - 1
    households.years = np.minimum(years, since_18).astype(np.int16)
    return popn, jobs
