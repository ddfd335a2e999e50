"""Jobs: where the region's jobs are and how workers choose a workplace.

Jobs per place are the starting population's workers (full scale) spread in proportion to
``population ** jobs_scaling_exponent`` (urban scaling). A worker's workplace follows a
gravity rule, ``jobs_w * exp(-decay * km)``, whose distance decay is solved so that the mean
home-work distance of the starting workers equals DST's 21.5 km. The jobs are fixed for the
run; they belong to the run (they depend on its population), not to the shared world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .world import World


@dataclass(frozen=True)
class Jobs:
    """The run's jobs and its workplace rule.

    Attributes:
        per_place: Jobs per place (full scale).
        commute_decay: Distance decay of the workplace choice (1/km), solved from data.
        workplace_cdf: Row-wise CDF of the workplace choice from each home place.
        workplace_flat: The CDF rows laid end to end (see :func:`sample_rows`).
    """

    per_place: np.ndarray
    commute_decay: float
    workplace_cdf: np.ndarray
    workplace_flat: np.ndarray

    @classmethod
    def build(cls, world: World, workers_per_place: np.ndarray, total_jobs: float,
              exponent: float, commute_mean_km: float) -> Jobs:
        """Spread ``total_jobs`` over places and solve the commute decay.

        Args:
            world: Geography.
            workers_per_place: Workers living in each place (simulated), for the decay.
            total_jobs: Jobs in the region (full scale).
            exponent: Urban scaling exponent of jobs in population.
            commute_mean_km: Target mean home-work distance (km).
        """
        pop = world.places["population"].to_numpy(float)
        w = np.power(pop, exponent)
        per_place = total_jobs * w / w.sum()
        decay = solve_commute_decay(world, per_place, workers_per_place, commute_mean_km)
        cdf = workplace_cdf(world, per_place, decay)
        return cls(per_place=per_place, commute_decay=decay, workplace_cdf=cdf,
                   workplace_flat=flat_cdf(cdf))

    def within(self, world: World, minutes: float, by_bus: bool = False) -> np.ndarray:
        """Jobs reachable from each place within ``minutes`` (car, or bus)."""
        t = world.bus_min if by_bus else world.car_min
        return (t <= minutes).astype(np.float32) @ self.per_place.astype(np.float32)

    def choose(self, home: np.ndarray, u: np.random.Generator | np.ndarray) -> np.ndarray:
        """Workplace per worker living in ``home``, drawn with uniforms ``u`` (or a stream)."""
        if len(home) == 0:
            return np.zeros(0, np.int32)
        return sample_rows(self.workplace_cdf, home, u, self.workplace_flat).astype(np.int32)


def flat_cdf(cum: np.ndarray) -> np.ndarray:
    """Row-wise CDFs laid end to end, row ``r`` shifted by ``r`` (see :func:`sample_rows`)."""
    return (cum + np.arange(len(cum))[:, None]).ravel()


def sample_rows(cum: np.ndarray, rows: np.ndarray, rng: np.random.Generator | np.ndarray,
                flat: np.ndarray | None = None) -> np.ndarray:
    """Inverse-CDF draw of a column for each entry of ``rows`` from row-wise CDFs ``cum``.

    ``rng`` is a generator or one uniform per entry (keyed draws).
    """
    from . import kernels

    if flat is None:
        flat = flat_cdf(cum)
    draws = rng.random(len(rows)) if isinstance(rng, np.random.Generator) else np.asarray(rng)
    return kernels.sample_rows(flat, cum.shape[1], rows, draws)


def _gravity_weights(world: World, jobs: np.ndarray, decay: float) -> np.ndarray:
    return jobs[None, :].astype(np.float32) * np.exp(-decay * world.dist_km)


def mean_commute_km(world: World, jobs: np.ndarray, workers: np.ndarray, decay: float) -> float:
    """Expected mean home-work distance for ``workers`` per place under ``decay`` (1/km)."""
    w = _gravity_weights(world, jobs, decay)
    p = w / w.sum(axis=1, keepdims=True)
    per_origin = (p * world.dist_km).sum(axis=1)
    return float((per_origin * workers).sum() / max(workers.sum(), 1))


def solve_commute_decay(world: World, jobs: np.ndarray, workers: np.ndarray,
                        target_km: float) -> float:
    """Distance decay (1/km) of the workplace choice whose mean commute equals ``target_km``."""
    lo, hi = 0.0, 2.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if mean_commute_km(world, jobs, workers, mid) > target_km:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def workplace_cdf(world: World, jobs: np.ndarray, decay: float) -> np.ndarray:
    """Row-wise CDF of the gravity rule ``jobs_w * exp(-decay * km)``."""
    cum = np.cumsum(_gravity_weights(world, jobs, decay).astype(np.float64), axis=1)
    cum /= cum[:, -1:]
    cum[:, -1] = 1.0
    return cum
