"""Synthetic household population matching parish totals and municipal age structure.

1. **Persons.** Each place gets ``round(population * scale)`` persons (stochastic rounding
   below 1:1). Ages and sexes are drawn from the municipality's 2014 single-year age-sex
   table, *exponentially tilted* per parish (weights ``p(a) * exp(theta * a)``, ``theta``
   solved by bisection) so the expected mean age equals the parish's 2021 mean age; a town
   spanning several parishes mixes their tables by the people it takes from each. The draws
   are stratified per place, so a small place's sample spans its table.
2. **Couples.** Women aged 18+ live with a partner with the age-specific shares of
   ``couple_share_by_age``; each place takes as many men as it has such women (weighted by the
   same shares at their age minus ``partner_age_gap``) and pairs them by age rank, so the
   number of couples does not depend on the scale.
3. **Young adults at home.** A single 18-28-year-old lives with a parent with the share the
   model's leaving-home rule keeps, ``(1 - leave_home_rate) ** (age - 17)``
   (``leave_home_rate`` estimated from DST: :func:`estimate_leave_home_rate`).
4. **Children.** Each place has as many mothers as its children over DST's 1.755 children per
   family with children (weighted by their expected children at home); everyone under 18 and
   the young adults at home join a mother of the place whose age is nearest to the child's
   age plus a mother's age at birth drawn from the 2020 age-specific fertility rates.
5. **Attributes.** Employment by age; workplace by a gravity rule over jobs whose distance
   decay is solved so the mean commute equals DST's 21.5 km; car ownership and tenure
   log-linear in place size; years at the address from the stage's moving rate.

Checked against Statistics Denmark (1 January 2022): 2.04 persons per household (DST 2.107;
the model has no multi-family households), 39.6% one-person households (DST 40%).
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


def municipal_age_sex(base_year: int) -> tuple[np.ndarray, np.ndarray]:
    """Each municipality's persons by sex and single age on 1 January ``base_year``.

    2014: the single-year table of 2014 (data). From 2016 (FOLK1A): the year's seven age-band
    totals, split into single years and sexes by the 2014 table with every cohort aged to the
    year (:func:`sim.migration_rates.single_year_profile`; estimated within bands). 2015: the
    2014 table aged one year.

    Returns:
        (municipality codes, counts of shape (n_municipalities, 2, MAX_AGE + 1)).
    """
    from .migration_rates import BAND_NAMES, single_year_profile, split_bands

    codes = np.sort(data.age_sex_2014()["municipality_code"].unique()).astype(int)
    out = np.zeros((len(codes), 2, MAX_AGE + 1))
    bands = data.municipal_age_bands()
    rows = bands[bands["year"] == base_year].set_index("municipality_code")
    for k, code in enumerate(codes):
        profile = single_year_profile(int(code), base_year)
        if base_year >= 2016 and code in rows.index:
            out[k] = split_bands(rows.loc[code, list(BAND_NAMES)].to_numpy(float), profile)
        else:
            out[k] = profile
    return codes, out


def age_sex_table(world: World, base_year: int = 2021) -> tuple[np.ndarray, np.ndarray]:
    """Per-parish probabilities over (sex, age): the municipality's, tilted per parish.

    The municipality's distribution of the base year (:func:`municipal_age_sex`) is tilted
    (weights ``exp(theta * (age - 40))``) so each parish's expected mean age is its 2021 mean
    age shifted by its municipality's change since the base year (the 2021 population-
    weighted parish mean minus the base year's municipal mean): parishes keep their relative
    age, the municipality its own age profile.

    Returns:
        (probs, theta): probs has shape (n_parishes, 2 * (MAX_AGE + 1)) with index
        ``sex * (MAX_AGE + 1) + age``; theta is the tilt per parish.
    """
    par = data.parishes()
    munis, table = municipal_age_sex(base_year)
    pm = np.searchsorted(munis, par["municipality_code"].to_numpy())
    if not np.all(munis[np.minimum(pm, len(munis) - 1)] == par["municipality_code"].to_numpy()):
        raise data.DataError(f"{data.data_dir() / data.FILES['age_sex']}: a municipality of the "
                             "parish file has no age-sex rows; restore the shipped file")
    ages = np.tile(np.arange(MAX_AGE + 1), 2).astype(float)
    flat = table.reshape(len(munis), -1)
    muni_mean = (flat * ages).sum(1) / flat.sum(1)
    pop = par["population"].to_numpy(float)
    mean21 = par["mean_age"].to_numpy(float)
    parish_mean = np.bincount(pm, weights=pop * mean21, minlength=len(munis)) / np.maximum(
        np.bincount(pm, weights=pop, minlength=len(munis)), 1e-9)
    base = flat[pm]
    base = base / base.sum(axis=1, keepdims=True)
    target = mean21 - (parish_mean[pm] - muni_mean[pm])
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


def place_age_sex_probs(world: World, base_year: int = 2021) -> np.ndarray:
    """Age-sex probabilities per place: the mix of its parishes' tilted tables.

    A town that spans several parishes takes each parish's table in proportion to the people
    it draws from that parish (``world.allocation``).
    """
    probs, _ = age_sex_table(world, base_year)
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
    from . import kernels

    return kernels.rank_within(group, key)


def choose_per_place(place: np.ndarray, weight: np.ndarray, count: np.ndarray,
                     u: np.ndarray) -> np.ndarray:
    """Weighted sample without replacement per place: ``count[place]`` of the candidates.

    Candidate ``i`` (in place ``place[i]``, weight ``weight[i] > 0``) gets the key
    ``-log(u_i) / weight_i`` (an exponential race: Efraimidis and Spirakis 2006); in each
    place the ``count`` smallest keys are chosen (all candidates if there are fewer).

    Returns:
        Whether each candidate is chosen.
    """
    key = -np.log(np.maximum(u, 1e-300)) / np.maximum(weight, 1e-300)
    key = np.where(weight > 0, key, np.inf)
    _, rank = _rank_within(place, key)
    return (rank < count[place]) & np.isfinite(key)


def pair_by_rank(place: np.ndarray, women: np.ndarray, w_key: np.ndarray, men: np.ndarray,
                 m_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pair women and men of each place by the rank of their keys (ages with noise).

    ``place`` is indexed by person; in a place with more women than men (or the reverse) the
    highest-ranked remain unpaired. Returns (women paired, their husbands).
    """
    n_places = int(place.max()) + 1 if len(place) else 0
    pw, pm = place[women], place[men]
    k = np.minimum(np.bincount(pw, minlength=n_places), np.bincount(pm, minlength=n_places))
    _ow, rw = _rank_within(pw, w_key)
    om, _rm = _rank_within(pm, m_key)
    men_sorted = men[om]
    start_m = np.concatenate([[0], np.cumsum(np.bincount(pm, minlength=n_places))[:-1]])
    ok = rw < k[pw]
    w_ok = women[ok]
    return w_ok, men_sorted[start_m[place[w_ok]] + rw[ok]]


def pair_couples(place: np.ndarray, age: np.ndarray, sex: np.ndarray, p: PopulationParams,
                 rng: np.random.Generator) -> np.ndarray:
    """Partner index per person (-1 if single): couples decided by the women, within places.

    A woman aged 18+ lives with a partner with the probability ``couple_share_by_age`` of
    her age band. Her place then takes as many men as it has such women, drawn without
    replacement among its men aged 18+ with weights the same shares at the man's age minus
    ``partner_age_gap`` (so partnered men are about that much older); women and men are
    paired by age rank. The number of couples is thus the women's (expected: the sum of their
    shares, proportional to the scale) and not the smaller of two random counts per place,
    which at a small scale loses the couples of small places (households +1.9% at scale 0.1
    before issue 12). Only a place without enough men loses couples.
    """
    edges = (25, 35, 65, 80)
    share = np.asarray(p.couple_share_by_age)
    adult = age >= 18
    eff_age = np.where(sex == 1, age, age - p.partner_age_gap)
    s = np.where(adult, share[_band(np.maximum(eff_age, 18), edges)], 0.0)
    u = rng.random(len(age))
    partner = np.full(len(age), -1, np.int64)
    women = np.flatnonzero(adult & (sex == 1) & (u < s))
    n_places = int(place.max()) + 1 if len(place) else 0
    nw = np.bincount(place[women], minlength=n_places)
    cand = np.flatnonzero(adult & (sex == 0))
    men = cand[choose_per_place(place[cand], s[cand], nw, u[cand])]
    noise = rng.random(len(age))
    w_ok, m_ok = pair_by_rank(place, women, eff_age[women] + noise[women], men,
                              eff_age[men] + noise[men])
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
    age = np.asarray(age)
    if age.dtype.kind in "iu" and age.size and 0 <= age.min() and age.max() < 130:
        # one row per whole age (the same sums), not a (persons x ages) matrix: at 1:1 that
        # was 2 x 114 MB at the start-up's memory peak
        ages = np.arange(int(age.max()) + 1)
        at_birth = np.clip(ages[:, None] - k[None, :], 0, 129)
        return asfr[at_birth].sum(axis=1)[age]
    at_birth = np.clip(age[:, None].astype(int) - k[None, :], 0, 129)
    return asfr[at_birth].sum(axis=1)


def children_per_family() -> float:
    """Children living at home per family with children: DST, Denmark, 1 January 2022.

    1,357,441 children living at home (under 25) in 773,541 families with children = 1.755
    (``data/households_quoted.csv``, Statistics Denmark Nyt 18 March 2022, table FAM44N).
    """
    q = data.households_quoted().set_index("measure")["value"]
    return float(q["children living at home"] / q["families with children living at home"])


def at_home_share_18_24() -> float:
    """Share of 18-24-year-olds living with a parent in Denmark, 1 January 2022 (estimated).

    Statistics Denmark's children living at home (under 25: 1,357,441) minus the children
    under 18 (all assumed at home), over the persons aged 18-24; ages from the national
    5-year table (18-19 as two fifths of 15-19). Estimated: the few minors not living with a
    parent would raise it by well under a point.
    """
    q = data.households_quoted().set_index("measure")["value"]
    nat = data.national_population()
    nat = nat[nat["year"] == 2022].groupby("age_from")["population"].sum()
    minors = nat[0] + nat[5] + nat[10] + 0.6 * nat[15]
    young = 0.4 * nat[15] + nat[20]
    return float((q["children living at home"] - minors) / young)


def estimate_leave_home_rate(params: Parameters | None = None) -> float:
    """The yearly leaving-home rate that reproduces DST's share of 18-24s living at home.

    The synthetic population keeps a single young adult of age ``a`` (18 to
    ``leave_home_max_age - 1``) at home with probability ``(1 - r) ** (a - 17)``, the share
    the model's own leaving-home rule (:func:`sim.demography.step`) leaves in a steady state.
    With the women's couple share at 18-24 (``couple_share_by_age[0]``) the expected share of
    18-24-year-olds at home is ``(1 - c) * mean_a (1 - r) ** (a - 17)`` (ages 18-19 and
    20-24 weighted by the national table); ``r`` is solved (bisection) so that it equals
    :func:`at_home_share_18_24`.
    """
    p = params or Parameters()
    nat = data.national_population()
    nat = nat[nat["year"] == 2022].groupby("age_from")["population"].sum()
    ages = np.arange(18, 25)
    weight = np.where(ages < 20, nat[15] / 5, nat[20] / 5)
    single = 1.0 - p.population.couple_share_by_age[0]
    target = at_home_share_18_24()
    lo, hi = 0.0, 1.0
    for _ in range(60):
        r = (lo + hi) / 2
        share = single * float((weight * (1 - r) ** (ages - 17.0)).sum() / weight.sum())
        lo, hi = (r, hi) if share > target else (lo, r)
    return (lo + hi) / 2


def assign_children(place: np.ndarray, age: np.ndarray, sex: np.ndarray, is_child: np.ndarray,
                    hh: np.ndarray, p: PopulationParams, rng: np.random.Generator,
                    max_child_age: int = 21, per_family: float | None = None) -> np.ndarray:
    """Household of each child: a mother's in the same place, matched by age.

    **Mothers.** A place has ``children / per_family`` mothers (stochastic rounding, at least
    one where it has children; ``per_family`` defaults to :func:`children_per_family`, DST's
    1.755 children living at home per family with children), drawn without replacement among
    its women aged ``mother_age_min``+ with weights their expected number of children at home
    (aged 0..``max_child_age``, from the 2020 age-specific fertility rates). So children are
    concentrated in about as many households as Statistics Denmark counts families with
    children, not spread over every woman of mothering age.

    **Dealing.** Within a place, children sorted by their likely mother's age (own age plus a
    mother's age at birth drawn from the ASFR) are dealt to the mothers sorted by age, each
    taking one child and a share of the rest proportional to her weight, so every mother has
    a child and siblings arise where they should. Children
    in a place without such women go to the nearest-age adult of the place; a child with no
    adult in its place keeps its own household (possible only in tiny places at small scales).
    """
    kids = np.flatnonzero(is_child)
    m_ages, m_prob = mother_age_distribution()
    target = age[kids] + rng.choice(m_ages, size=len(kids), p=m_prob)
    out = hh.copy()
    n_places = int(place.max()) + 1 if len(place) else 0
    women = np.flatnonzero((sex == 1) & ~is_child & (age >= p.mother_age_min))
    weight = expected_children_at_home(age[women], max_child_age)
    women, weight = women[weight > 0], weight[weight > 0]
    nk = np.bincount(place[kids], minlength=n_places)
    per = children_per_family() if per_family is None else per_family
    need = np.where(nk > 0, np.maximum(_stochastic_round(nk / per, rng), 1), 0)
    mother = choose_per_place(place[women], weight, need, rng.random(len(women)))
    women, weight = women[mother], weight[mother]
    wsum = np.bincount(place[women], weights=weight, minlength=n_places)
    served = wsum[place[kids]] > 0
    big = float(max(nk.max(initial=0), 1) + 2)
    if served.any():
        order_w = np.lexsort((age[women] + rng.random(len(women)), place[women]))
        women, weight = women[order_w], weight[order_w]
        pw = place[women]
        # every mother takes one child, and the rest in proportion to her weight
        n_mothers = np.bincount(pw, minlength=n_places)
        share = 1.0 + np.maximum(nk[pw] - n_mothers[pw], 0) * weight / wsum[pw]
        share *= nk[pw] / np.maximum(np.bincount(pw, weights=share, minlength=n_places)[pw],
                                     1e-12)
        cum = np.cumsum(share)
        before = np.concatenate([[0.0], cum])[np.searchsorted(pw, pw, side="left")]
        within = cum - before
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
    probs = place_age_sex_probs(world, params.base_year)
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    # stratified uniforms per place ((rank + U) / n): each place's sample spans its age-sex
    # table (men first, then women, by age) instead of clustering by chance, so a small
    # place at a small scale still has men and women of each age group to pair and to host
    # children (each person is still drawn from the table)
    first = np.repeat(np.cumsum(n_per_place) - n_per_place, n_per_place)
    rank = np.arange(len(place)) - first
    col = sample_rows(cum, place, (rank + rng.random(len(place))) / n_per_place[place])
    del probs, cum, first, rank  # person-sized temporaries go as soon as they are used
    sex = (col // (MAX_AGE + 1)).astype(np.int8)
    age = (col % (MAX_AGE + 1)).astype(np.int16)
    del col
    n = len(age)

    partner = pair_couples(place, age, sex, pp, rng)
    hh = np.arange(n, dtype=np.int64)
    in_couple = partner >= 0
    hh[in_couple & (sex == 0)] = partner[in_couple & (sex == 0)]  # man joins the woman's
    del partner
    # young adults still at home: the share the model's own leaving-home rule keeps
    dp = params.demography
    young_single = (age >= 18) & (age < dp.leave_home_max_age) & ~in_couple
    at_home = (1.0 - dp.leave_home_rate) ** np.maximum(age - 17.0, 0.0)
    child = (age < 18) | (young_single & (rng.random(n) < at_home))
    del in_couple, young_single, at_home
    hh = assign_children(place, age, sex, child, hh, pp, rng,
                         max_child_age=dp.leave_home_max_age - 1)
    # renumber households 0..H-1
    uniq, hh_row = np.unique(hh, return_inverse=True)
    del hh
    hh_row = hh_row.astype(np.int32)
    hh_place = place[uniq]

    # employment
    emp_rate = np.asarray(pp.employment_rate_by_age)
    working_age = (age >= 18) & (age < params.demography.retirement_age)
    band = np.where(age < 25, 0, np.where(age < 60, 1, 2))
    employed = working_age & (rng.random(n) < emp_rate[band])
    del working_age, band
    jobs = Jobs.build(world, np.bincount(place[employed], minlength=world.n),
                      employed.sum() / params.scale, params.world.jobs_scaling_exponent,
                      params.world.commute_mean_km)
    workplace = np.full(n, -1, np.int32)
    workplace[employed] = jobs.choose(place[employed], rng)

    persons = Persons(age=age, sex=sex, hh=hh_row, child=child,
                      employed=employed, workplace=workplace, pid=np.arange(n, dtype=np.int64))
    del place, hh_row
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
        key=uniq.astype(np.int64, copy=False))  # the person whose index named the household
    del uniq, hh_place
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
