"""Community capacity: the volunteer hours a place can give to new initiatives (forum question 2).

**Residents' hours.** Every resident aged 16 to ``oldest_age`` (85: an assumption, the upper
age of SFI's 2012 survey, vol-27; CFSA's reaches 94, vol-15) volunteers with the published
share of their age band and gives the published hours per volunteer (Danish surveys; the ids
are rows of ``data/evidence_figures.csv``):

=========  =======================  ===================================================
age        share volunteering        source
=========  =======================  ===================================================
16-29      43%                       CFSA Frivilligrapport 2019-2021 (vol-13, secondary)
30-39      35%                       same (vol-13)
40-49      41%                       CFSA population survey 2017 (vol-11, secondary)
50-59      36%                       CFSA 2019 (vol-13)
60-69      39%                       assumption: between its neighbours (36%, 42%); the
                                     surveys found give no 60s figure
70+        42%                       CFSA 2019 (vol-13)
=========  =======================  ===================================================

Weighted by Denmark's population aged 16-84 (2019,
``denmark_population_age5_sex_1990_2025.csv``) these give 39.6% (:func:`national_share`), the
surveys' "about 40%" (vol-01, vol-07, vol-10, vol-13). ``level`` scales them (DST's
cultural-habits survey measures 33%, vol-18; VIVE 2012 43%, vol-01). In the eight
municipalities of Vestjylland the shares are ``west_factor`` = 42/33 = 1.27 times higher
(DST 2018: 42% of adults there against 33% nationally, vol-18).

Hours per volunteer average ``hours_per_month`` (CFSA 2017: 15, vol-15; CFSA 2019: 14,
vol-14; VIVE 2024: 18, vol-07) over Denmark's volunteers. Volunteers aged 70+ give
``old_hours_ratio`` times the hours of younger ones: derived from CFSA 2014 (vol-16), where
51% of volunteers over 70 and 23% under 30 gave more than five hours a week; if hours follow
an exponential distribution whose scale differs by age, the scales differ by
``ln(0.23) / ln(0.51) = 2.18`` (a log-normal of shape 0.5 or 1.5 gives 1.46 or 3.14: the
range). No figure separates the bands 30-69 from the young: they get the young's hours.

**Free for new initiatives.** About two thirds of volunteers work in an association
(VIVE 2024: "omkring to tredjedele", vol-08; CFSA 2017: 63%, vol-09); those hours are bound
in existing associations. What is free for the model's new initiatives is the rest,
``1 - bound_share``. No source measures the part of those hours that a village's new
initiatives can draw on, so it is an upper bound: ``local_share`` (central 1) scales it, down
to 0.15 at the low end, the share of volunteers now active in housing and the local
community (VIVE 2020: 6% of the population against 40% volunteering, vol-06; DST Q4 2020:
12% of volunteers, vol-20). Newcomers (households at their address for less
than ``newcomer_years``) give ``newcomer_factor`` of their hours (assumption: no figure links
years lived in a place to volunteering; SBi 2010:52 found about a quarter of in-movers to
peripheral areas find it hard to become part of the community, vol-23, which bounds the
factor at 0.75).

**Drawn down and recovering.** Each year the initiatives of a place claim hours from one
pool (first come, first served in the scenario's order; all or nothing). Heavy use wears the
volunteers out: with ``u`` the share of last year's capacity used,

    fatigue <- clip(fatigue x (1 - recovery) + wear x u - relief, 0, 0.9)

and this year's available hours are ``capacity x (1 - fatigue)`` minus what is claimed.
A place that uses a share ``u`` every year settles at ``fatigue = wear u / recovery``, so it
can sustain at most ``u = recovery / (recovery + wear)`` of its capacity (5/7 with the central
values). ``wear`` and ``recovery`` are assumptions (no source quantifies volunteer fatigue,
see docs/EVIDENCE.md).

**Built.** Community houses and associations declare :class:`sim.effects.VolunteerRecruitment`
(a share of the non-volunteers of every age band joins: ``p <- p + s (1 - p)``; at most the
36% of non-volunteers who would volunteer if asked, CFSA 2016-18, vol-15) and
:class:`sim.effects.VolunteerRelief` (fatigue falls); both act at the next renewal.

The rules are a scenario file's ``[community]`` table (:class:`CommunityRules`); every
magnitude has a plausible range (:func:`sim.ranges.ranges_of`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from pydantic import Field

from .household import Population
from .infra import FrozenModel
from .ranges import magnitude

#: Age bands of the survey shares: first age of each band (the last is open).
AGE_STARTS = (16, 30, 40, 50, 60, 70)
#: Share volunteering in the last year by age band (see the module docstring for sources).
SHARE_BY_AGE = (0.43, 0.35, 0.41, 0.36, 0.39, 0.42)
#: Where each share comes from (rows of data/evidence_figures.csv).
SHARE_SOURCES = ("vol-13", "vol-13", "vol-11", "vol-13",
                 "assumption: between its neighbours vol-13 50s and 70+", "vol-13")
#: The municipalities of DST's landsdel Vestjylland (vol-18).
WEST = ("Herning", "Holstebro", "Ikast-Brande", "Lemvig", "Ringkøbing-Skjern", "Skive",
        "Struer", "Viborg")
#: Year of the national population that weights the survey averages (the CFSA 2019 survey).
WEIGHT_YEAR = 2019
#: Highest fatigue (some volunteers always remain).
MAX_FATIGUE = 0.9


class CommunityRules(FrozenModel):
    """The rules of volunteer capacity (a scenario file's ``[community]`` table)."""

    level: float = magnitude(
        1.0, 0.825, 1.075, "evidence: vol-01, vol-13, vol-18",
        "factor on the survey shares by age (1: CFSA/VIVE's ~40%; 0.825: DST's 33%; 1.075: "
        "VIVE 2012's 43%)", gt=0.0, le=2.0)
    west_factor: float = magnitude(
        1.27, 1.0, 1.27, "evidence: vol-18",
        "factor on the shares in the eight municipalities of Vestjylland (DST 2018: 42% vs "
        "33% nationally)", ge=1.0, le=2.0)
    hours_per_month: float = magnitude(
        15.0, 14.0, 18.0, "evidence: vol-14, vol-15, vol-07",
        "mean volunteer hours a month per volunteer (CFSA 2019: 14, 2017: 15; VIVE 2024: 18)",
        gt=0.0, le=100.0)
    old_hours_ratio: float = magnitude(
        2.18, 1.46, 3.14, "derived: vol-16 (51% of volunteers 70+ and 23% under 30 give over "
        "5 hours a week; exponential hours: 2.18, log-normal shape 0.5-1.5: 1.46-3.14)",
        "hours of a volunteer aged 70+ relative to a younger volunteer", ge=1.0, le=5.0)
    local_share: float = magnitude(
        1.0, 0.15, 1.0, "evidence (low end): vol-06, vol-20",
        "share of the unbound hours that new initiatives of the place can draw on (1: all, "
        "the reading of the module docstring; 0.15: only the share of volunteers now in "
        "housing and the local community, VIVE 2020 6% of 40%, DST 2020 12%)", gt=0.0, le=1.0)
    bound_share: float = magnitude(
        0.667, 0.63, 0.667, "evidence: vol-08, vol-09",
        "share of volunteers' hours bound in existing associations (VIVE 2024: about two "
        "thirds; CFSA 2017: 63%)", ge=0.0, lt=1.0)
    oldest_age: float = magnitude(
        85.0, 80.0, 95.0, "assumption (the surveys' ages: SFI/VIVE 2012 16-85, vol-27; CFSA "
        "2016-18 16-94, vol-15)", "assumption: residents this old or older no longer volunteer "
        "(the surveys' oldest band, 70+, is open; no figure for the very old was found)",
        ge=70.0, le=120.0)
    newcomer_years: float = magnitude(
        3.0, 1.0, 5.0, "assumption",
        "assumption: households at their address for less than this many years are newcomers",
        ge=0.0, le=30.0)
    newcomer_factor: float = magnitude(
        0.5, 0.25, 0.75, "assumption (upper end: vol-23)",
        "assumption: share of their hours newcomers give (SBi 2010:52: a quarter of "
        "in-movers find it hard to become part of the community)", ge=0.0, le=1.0)
    wear: float = magnitude(
        0.2, 0.1, 0.4, "assumption",
        "assumption: fatigue gained per unit share of the capacity used in a year",
        ge=0.0, le=2.0)
    recovery: float = magnitude(
        0.5, 0.25, 1.0, "assumption",
        "assumption: share of the fatigue that recovers in a year", gt=0.0, le=1.0)
    unlimited: bool = Field(
        False, description="claims never fall short (to measure what capacity costs); what "
        "would have been refused is still recorded")

    def sustainable_share(self) -> float:
        """Largest share of its capacity a place can use year after year."""
        return self.recovery / (self.recovery + self.wear)


def _band(age: np.ndarray) -> np.ndarray:
    """Age band index (0-5) of ages 16+, -1 under 16."""
    return np.searchsorted(AGE_STARTS, age, side="right") - 1


@functools.lru_cache(maxsize=8)
def _national_weights(folder: str, oldest: float) -> np.ndarray:
    """Denmark's population by survey age band in :data:`WEIGHT_YEAR`.

    Ages 16-19 are 4/5 of the 15-19 group; five-year groups from ``oldest`` on are left out.
    """
    from .data import national_population

    d = national_population()
    d = d[d["year"] == WEIGHT_YEAR]
    out = np.zeros(len(AGE_STARTS))
    for lo, n in zip(d["age_from"].to_numpy(int), d["population"].to_numpy(float),
                     strict=True):
        if lo + 4 < AGE_STARTS[0] or lo >= oldest:
            continue
        if lo < AGE_STARTS[0]:  # the 15-19 group: ages 16-19 are 4 of its 5 years
            n = n * (lo + 5 - AGE_STARTS[0]) / 5
        out[_band(np.array([max(lo, AGE_STARTS[0])]))[0]] += n
    return out


def national_weights(rules: CommunityRules | None = None) -> np.ndarray:
    """Denmark's population aged 16 to ``rules.oldest_age`` by survey age band (data in use)."""
    from .data import data_dir

    return _national_weights(str(data_dir()), (rules or CommunityRules()).oldest_age)


def national_share(rules: CommunityRules | None = None) -> float:
    """Share volunteering over Denmark's population aged 16+ (the survey shares, weighted)."""
    rules = rules or CommunityRules()
    w = national_weights(rules)
    return float((w * np.minimum(np.asarray(SHARE_BY_AGE) * rules.level, 1.0)).sum() / w.sum())


def hours_by_age(rules: CommunityRules) -> np.ndarray:
    """Hours a year per volunteer by age band, averaging ``hours_per_month x 12`` nationally."""
    ratio = np.ones(len(AGE_STARTS))
    ratio[-1] = rules.old_hours_ratio
    volunteers = national_weights(rules) * np.minimum(np.asarray(SHARE_BY_AGE) * rules.level,
                                                      1.0)
    mean_ratio = (volunteers * ratio).sum() / volunteers.sum()
    return 12.0 * rules.hours_per_month * ratio / mean_ratio


def west_mask(municipality: np.ndarray) -> np.ndarray:
    """Places in the municipalities of Vestjylland."""
    return np.isin(np.asarray(municipality, dtype=object), WEST)


def free_hours(pop: Population, west: np.ndarray, scale: float, rules: CommunityRules,
               recruitment: np.ndarray | None = None, min_age: int = AGE_STARTS[0],
               ) -> np.ndarray:
    """Hours a year per place free for new initiatives, at full scale.

    Args:
        pop: The residents now.
        west: Per place, whether it is in Vestjylland (:func:`west_mask`).
        scale: The run's scale (the result is divided by it).
        rules: The community rules.
        recruitment: Per place, the share of non-volunteers recruited (declared effects).
        min_age: Count only residents of this age or older (e.g. 70: the old's part).
    """
    n = len(west)
    pp = pop.persons
    band = _band(pp.age)
    adult = (band >= 0) & (pp.age >= min_age) & (pp.age < rules.oldest_age)
    place = pop.households.place[pp.hh[adult]]
    b = band[adult]
    share = np.asarray(SHARE_BY_AGE)[b] * rules.level
    share = share * np.where(west[place], rules.west_factor, 1.0)
    share = np.minimum(share, 1.0)
    if recruitment is not None:
        share = share + np.clip(recruitment[place], 0.0, 1.0) * (1.0 - share)
    hours = share * hours_by_age(rules)[b] * (1.0 - rules.bound_share) * rules.local_share
    newcomer = pop.households.years[pp.hh[adult]] < rules.newcomer_years
    hours = np.where(newcomer, hours * rules.newcomer_factor, hours)
    return np.bincount(place, weights=hours, minlength=n) / scale


@dataclass
class Community:
    """Volunteer capacity of every place in the current year (hours, full scale).

    Attributes:
        capacity: Free hours of the residents this year.
        fatigue: Share of the capacity worn out (0-0.9).
        used: Hours claimed this year.
        refused: Hours asked for but not available this year (with ``unlimited`` rules:
            granted anyway, and recorded here as what would have been refused).
        rules: The rules.
    """

    capacity: np.ndarray
    fatigue: np.ndarray
    used: np.ndarray
    refused: np.ndarray
    rules: CommunityRules = field(default_factory=CommunityRules)

    @classmethod
    def empty(cls, n: int, rules: CommunityRules | None = None) -> Community:
        """No capacity computed yet."""
        return cls(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n),
                   rules or CommunityRules())

    def available(self) -> np.ndarray:
        """Hours still available this year after fatigue and earlier claims."""
        return np.maximum(self.capacity * (1.0 - self.fatigue) - self.used, 0.0)

    def claim(self, place: int, hours: float) -> bool:
        """Claim ``hours`` at ``place`` (all or nothing); True if granted (then used)."""
        enough = self.capacity[place] * (1.0 - self.fatigue[place]) - self.used[place] >= hours
        if not enough:
            self.refused[place] += hours
        if enough or self.rules.unlimited:
            self.used[place] += hours
            return True
        return False


def renew(community: Community, pop: Population, west: np.ndarray, scale: float,
          relief: np.ndarray | None = None, recruitment: np.ndarray | None = None) -> None:
    """Start a new year: fatigue from last year's use, capacity from the residents now.

    Args:
        community: Changed in place.
        pop: The residents at the start of the year.
        west: Per place, whether it is in Vestjylland.
        scale: The run's scale.
        relief: Last year's declared fatigue relief per place (community houses).
        recruitment: Last year's declared recruitment per place (community houses).
    """
    r = community.rules
    share = np.divide(community.used, np.maximum(community.capacity, 1e-9))
    fatigue = community.fatigue * (1.0 - r.recovery) + r.wear * share
    if relief is not None:
        fatigue = fatigue - relief
    community.fatigue = np.clip(fatigue, 0.0, MAX_FATIGUE)
    community.capacity = free_hours(pop, west, scale, r, recruitment)
    community.used = np.zeros_like(community.capacity)
    community.refused = np.zeros_like(community.capacity)
