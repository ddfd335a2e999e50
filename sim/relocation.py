"""Relocation: who moves, and where to, by an exact multinomial logit over all places.

**Whether to move.** A housed household moves with probability
``move_rate[stage] * 2 / (1 + exp(-g * (L_s - V_s[home])))``: its stage's base rate, scaled
up when its current place is worse than the logsum ``L_s`` of its segment over the region's
dwellings (``g`` = ``dissatisfaction_gain``; the factor is 1 when the home place is average).
Households just formed by young adults leaving home, and in-migrants, always look.

**Where to.** The probability of place ``j`` for a household of segment ``s`` living in ``i``
is proportional to ``vacant_j * exp(V_s[j] - lambda_stage * km_ij)``: a logit over
aggregated alternatives in which the log of the number of vacant dwellings is the size
variable (coefficient 1), ``V_s`` is the weighted sum of the registered utility terms, and
``lambda`` makes most moves short. In-migrants have no distance term. Households of the same
(origin, segment) share one probability row, so the choice is computed exactly, once per
row, and drawn by a two-level exponential race (:func:`draw_destinations`).

**Vacancies.** Movers need a vacant dwelling. Where more movers chose a place than it has
vacancies, a random subset gets them; the rest choose again among the remaining vacancies
(``rounds`` times). A household that still has no dwelling stays where it was; a young adult
returns to the parental home; an in-migrant does not come.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from . import kernels as compiled
from . import rng as draws
from .demography import DemographyResult
from .household import Population, stage_of
from .jobs import Jobs
from .migration import BAND_LOWS, MigrationResult, band_of
from .params import STAGES, Parameters
from .registry import Registry
from .rng import Streams
from .segments import Segments
from .world import World

#: Rows of weights computed at once: small enough to stay in cache (measured best at 128).
CHUNK_ROWS = 128
#: Choosers raced at once by the numpy path (bounds its (choosers x sqrt(n)) temporaries).
RACE_CHUNK = 4_096
#: A worker whose job is further than this by car after a move changes job.
MAX_COMMUTE_MIN = 60.0
#: Moves shorter than this count as "short" in the records (DST reports moves under 10 km).
SHORT_MOVE_KM = 10.0


def default_threads() -> int:
    """Threads for the destination draw: up to 2 (results are identical for any number)."""
    return min(2, os.cpu_count() or 1)


def logsums(values: np.ndarray, dwellings: np.ndarray) -> np.ndarray:
    """Dwelling-weighted logsum of each segment's place values, shape (n_segments,)."""
    share = dwellings / max(dwellings.sum(), 1)
    m = values.max(axis=1, keepdims=True)
    return (m[:, 0] + np.log(np.maximum((share[None, :] * np.exp(values - m)).sum(axis=1),
                                        1e-300)))


def move_probability(stage: np.ndarray, v_home: np.ndarray, logsum: np.ndarray,
                     move_rate: np.ndarray, gain: float) -> np.ndarray:
    """Yearly moving probability of housed households (see module docstring)."""
    factor = np.subtract(logsum, v_home)
    rate = move_rate[stage]
    if (factor.ndim == 0 or factor.dtype.kind != "f"
            or np.result_type(factor, rate) != factor.dtype):
        return np.clip(rate * (2.0 / (1.0 + np.exp(-gain * factor))), 0.0, 1.0)
    # in place, the same operations as rate * 2 / (1 + exp(-gain * (logsum - v_home))):
    # one household-sized temporary instead of four
    factor *= -gain
    np.exp(factor, out=factor)
    factor += 1.0
    np.divide(2.0, factor, out=factor)
    factor *= rate
    return np.clip(factor, 0.0, 1.0, out=factor)


def distance_kernels(dist_km: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """``exp(-decay[stage] * km)`` per stage plus a final row of ones (from outside).

    Columns are padded with zeros to a multiple of the destination draw's block size.
    """
    n = dist_km.shape[0]
    b = block_size(n)
    npad = -(-n // b) * b
    k = np.zeros((len(decay), n + 1, npad), np.float32)
    for s, lam in enumerate(decay):
        np.exp(-np.float32(lam) * dist_km, out=k[s, :n, :n])
        k[s, n, :n] = 1.0
    return k


def choice_rows(origins: np.ndarray, segs: np.ndarray, kernels: np.ndarray,
                stage_of_seg: np.ndarray, attract: np.ndarray,
                out: np.ndarray | None = None, scratch: np.ndarray | None = None) -> np.ndarray:
    """Unnormalised choice weights for (origin, segment) pairs, shape (len(origins), n).

    Args:
        origins: Origin place per row (-1 = from outside the region: no distance term).
        segs: Segment per row.
        kernels: ``exp(-lambda_stage * km)``, shape (4, n + 1, n); row ``n`` is all ones
            (the kernel of in-migrants). Columns may be padded with zeros.
        stage_of_seg: Stage of each segment.
        attract: ``vacant * exp(V - max V)``, shape (n_segments, n), float32.
        out: Optional float32 buffer of at least (len(origins), n) to write into.
        scratch: Optional second buffer of the same size (avoids fresh allocations).
    """
    n1 = kernels.shape[1]
    org = np.where(origins >= 0, origins, n1 - 1)
    rows = stage_of_seg[segs] * n1 + org
    k2 = kernels.reshape(-1, kernels.shape[2])
    m = len(origins)
    if out is None:
        return k2[rows] * attract[segs]
    w = out[:m]
    a = scratch[:m]
    if m and (rows.min() < 0 or rows.max() >= len(k2) or segs.min() < 0
              or segs.max() >= len(attract)):
        raise IndexError("choice_rows: an origin or segment is out of range")
    # mode="clip" (checked above): the default mode buffers ``out`` and copies it, 7x slower
    np.take(k2, rows, axis=0, out=w, mode="clip")
    np.take(attract, segs, axis=0, out=a, mode="clip")
    np.multiply(w, a, out=w)
    return w


@dataclass(frozen=True)
class DemandSignal:
    """Expected first-round demand of every place and how much a sample's counts spread it.

    Attributes:
        per_vacancy: ``q_j``, the expected first-round choosers per vacant dwelling
            (:func:`demand_per_vacancy`).
        thinning_variance: ``sum_g N_g (u_gj / S_g)^2`` (with weights ``c``, ``N_g`` the sum
            of the squared weights): the variance of ``q_j`` that drawing
            each chooser with probability ``s`` from a population ``1/s`` times larger adds,
            divided by ``1 - s`` (binomial thinning of every group's count ``N_g``; the noise
            of the vacancies in ``S_g``, a sum over many places, is left out). Times
            ``1 - scale`` it is the extra variance of a run at ``scale`` over a 1:1 run.
    """

    per_vacancy: np.ndarray
    thinning_variance: np.ndarray


def demand_signal(origin: np.ndarray, seg: np.ndarray, kernels: np.ndarray,
                  stage_of_seg: np.ndarray, values: np.ndarray,
                  vacant: np.ndarray, spread: bool = True,
                  weight: np.ndarray | None = None) -> DemandSignal:
    """Expected first-round choosers per vacant dwelling of every place and its spread.

    ``spread=False`` leaves the thinning variance at zero and skips its matrix products (a
    1:1 run, where the scale adds no variance). ``weight`` counts each chooser by a weight
    instead of 1: the model passes every household that may choose with its chance of
    choosing this year (the moving probability of the housed, 1 for the unhoused), so that
    ``N_g`` is the expected number of choosers of group ``g`` and ``q`` carries no noise of
    the year's moving draws (a small place's few draws made its ``q``, and the construction
    convex in it, jump: docs/ODD.md 7.6). With weights the thinning variance sums the squared
    weights, ``sum_g (sum_{h in g} c_h^2) (u_gj / S_g)^2``.

    With ``u_gj = K_g(j) exp(V_gj)`` the weight of place ``j`` for the choosers of group ``g``
    (an origin and a segment) before vacancies, a group of ``N_g`` choosers sends
    ``N_g u_gj v_j / S_g`` of its first choices to ``j``, ``S_g = sum_k u_gk v_k``; per vacancy
    that is ``q_j = sum_g N_g u_gj / S_g``. Unlike the counts of one year's choices, ``q`` is
    defined where a place has no vacancy and does not depend on the scale (``N`` and ``S``
    scale alike), so a price signal built on it is the same at every scale on average. Its
    noise is not: a run at scale ``s`` draws each group's choosers as a binomial sample of
    the full-scale ones, which adds ``(1 - s) sum_g N_g (u_gj / S_g)^2`` to the variance of
    ``q_j`` (:attr:`DemandSignal.thinning_variance`); a concave price signal turns that
    variance into a downward bias unless it is corrected (:meth:`sim.housing.Housing.update`).
    """
    n = len(vacant)
    n1, npad = kernels.shape[1], kernels.shape[2]
    if len(origin) == 0:
        return DemandSignal(np.zeros(n), np.zeros(n))
    nseg = values.shape[0]
    org = np.where(origin >= 0, origin, n1 - 1).astype(np.int64)
    group = seg.astype(np.int64) * n1 + org
    choosers = np.bincount(group, weights=weight, minlength=nseg * n1).reshape(nseg, n1)
    # the spread of a sum of thinned weights: sum of the squared weights (counts: the counts)
    squares = choosers if weight is None or not spread else np.bincount(
        group, weights=weight * weight, minlength=nseg * n1).reshape(nseg, n1)
    expv = np.zeros((nseg, npad), np.float32)
    expv[:, :n] = np.exp(values - values.max(axis=1, keepdims=True))
    vac = np.zeros(npad, np.float32)
    vac[:n] = np.maximum(vacant, 0)
    out = np.zeros(npad)
    tv = np.zeros(npad)
    # Per life stage, with K its kernel (origins x places) and E the segments' exp(V) rows:
    # S = K (E * v)^T gives every (origin, segment) group's S_g at once and
    # q = sum_s E_s * ((N / S)^T K)_s the sum over groups, two matrix products instead of
    # one weight row per group; the spread is sum_s E_s^2 * ((N / S^2)^T K^2)_s.
    # One BLAS thread: the products are small, and several threads on a busy machine (a
    # batch's workers, the destination draw's threads) were 20x slower, not faster; the
    # result no longer depends on how many threads the machine's BLAS would use.
    with _blas().limit(limits=1, user_api="blas"):
        for st in np.unique(stage_of_seg):
            segs = np.flatnonzero(stage_of_seg == st)
            k = kernels[st]
            e = expv[segs]
            s_g = k @ (e * vac).T
            n_g = choosers[segs].T
            w = np.zeros(s_g.shape, np.float32)
            ok = (s_g > 0) & (n_g > 0)
            w[ok] = n_g[ok] / s_g[ok]
            e64 = e.astype(np.float64)
            out += (e64 * (w.T @ k)).sum(axis=0)
            if spread:
                w2 = np.zeros(s_g.shape, np.float32)
                w2[ok] = squares[segs].T[ok] / (s_g[ok] * s_g[ok])
                tv += (e64 * e64 * (w2.T @ (k * k))).sum(axis=0)
    return DemandSignal(out[:n], tv[:n])


def demand_per_vacancy(origin: np.ndarray, seg: np.ndarray, kernels: np.ndarray,
                       stage_of_seg: np.ndarray, values: np.ndarray,
                       vacant: np.ndarray) -> np.ndarray:
    """Expected first-round choosers per vacant dwelling of every place (scale-free).

    ``q_j = sum_g N_g u_gj / S_g`` (:func:`demand_signal`, which also gives its spread).
    """
    return demand_signal(origin, seg, kernels, stage_of_seg, values, vacant,
                         spread=False).per_vacancy


@functools.cache
def _blas() -> ThreadpoolController:
    """The process's BLAS libraries (found once; limiting them costs about 10 us a call)."""
    return ThreadpoolController()


def block_size(n: int) -> int:
    """Columns per block of the two-level draw (about sqrt(n))."""
    return max(int(np.ceil(np.sqrt(n))), 1)


def draw_destinations(origin: np.ndarray, seg: np.ndarray, kernels: np.ndarray,
                      stage_of_seg: np.ndarray, attract: np.ndarray,
                      rng: np.random.Generator | np.ndarray, threads: int = 1) -> np.ndarray:
    """Destination per chooser (-1 if no place has a vacancy): an exact logit draw.

    Choosers sharing (origin, segment) share one weight row. The draw is an exponential race
    (the Gumbel-max trick: the alternative with the smallest ``E_j / w_j``, ``E_j`` Exp(1),
    wins with probability ``w_j / sum w``) in two levels so a chooser needs about 2 sqrt(n)
    variates rather than n: columns are cut into blocks of about sqrt(n); the block race uses
    the block totals, the column race the columns of the winning block. The result has
    exactly the row's probabilities. The exponentials of a chooser are derived from one
    uniform (:func:`sim.rng.indexed_exponentials`), so with keyed uniforms a change in one
    place's weight changes only the choices that win or lose that place (or its block):
    an inverse CDF over places in index order would move the draws of every chooser whose
    uniform falls past the changed place. ``rng`` is a generator, or one uniform per chooser
    (keyed draws for common random numbers). ``threads`` draws chunks in parallel; the
    result does not depend on it.
    """
    npad = attract.shape[1]
    b = block_size(kernels.shape[2])
    if npad % b:
        raise ValueError(f"padded width {npad} is not a multiple of the block size {b}")
    nb = npad // b
    dest = np.full(len(origin), -1, np.int64)
    if len(origin) == 0:
        return dest
    key = (origin.astype(np.int64) + 1) * 64 + seg
    groups, inv = np.unique(key, return_inverse=True)
    g_origin = groups // 64 - 1
    g_seg = (groups % 64).astype(np.int64)
    u = rng.random(len(origin)) if isinstance(rng, np.random.Generator) else np.asarray(rng)
    if compiled.ENABLED:
        _draw_compiled(g_origin, g_seg, inv, u, kernels, stage_of_seg, attract, nb, b, dest,
                       threads)
        return dest
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(0, len(groups) + CHUNK_ROWS, CHUNK_ROWS))
    starts = list(range(0, len(groups), CHUNK_ROWS))

    def work(chunk_ids: list[int]) -> None:
        buf = np.empty((CHUNK_ROWS, npad), np.float32)
        scratch = np.empty_like(buf)
        for c in chunk_ids:
            start = starts[c]
            stop = min(start + CHUNK_ROWS, len(groups))
            w = choice_rows(g_origin[start:stop], g_seg[start:stop], kernels, stage_of_seg,
                            attract, out=buf, scratch=scratch)
            who = order[bounds[c]:bounds[c + 1]]
            _draw_chunk(w, nb, b, inv[who] - start, u[who], who, dest)

    # threads pay off only with enough chunks to share
    n_threads = max(1, min(threads, len(starts) // 4))
    if n_threads == 1:
        work(list(range(len(starts))))
    else:
        # numpy releases the GIL in these kernels; chunks write disjoint entries of dest and
        # the uniforms are drawn above, so the result does not depend on the thread count
        with ThreadPoolExecutor(n_threads) as ex:
            list(ex.map(work, [list(range(t, len(starts), n_threads))
                               for t in range(n_threads)]))
    return dest


def _draw_chunk(w: np.ndarray, nb: int, b: int, r: np.ndarray, u: np.ndarray,
                who: np.ndarray, dest: np.ndarray) -> None:
    """Two-level exponential race for the choosers of one chunk of weight rows.

    Block ``B`` wins with ``argmin E_B / W_B`` over the block totals, then column ``j`` with
    ``argmin E_j / w_j`` inside it; the ``E`` are Exp(1), derived from the chooser's uniform
    and the block or column (:func:`sim.rng.indexed_exponentials`). Zero weights never win
    (``E / 0 = inf``, ``E > 0``).
    """
    wb = w.reshape(len(w), nb, b)
    block_tot = wb.sum(axis=2, dtype=np.float64)
    ok = block_tot.sum(axis=1)[r] > 0
    who, r, u = who[ok], r[ok], u[ok]
    top = draws._LOG_2_53
    # choosers in runs of RACE_CHUNK: a chunk of rows can have tens of thousands of choosers
    # (a large town's groups), and each needs (sqrt(n),) logs and codes; every chooser's race
    # is its own row, so the runs give the same destinations
    for lo in range(0, len(r), RACE_CHUNK):
        wh, rr = who[lo:lo + RACE_CHUNK], r[lo:lo + RACE_CHUNK]
        # E = 53 log 2 - race_logs (sim.rng.indexed_exponentials); the subtraction is
        # folded into the comparison, which is exactly argmin(E / W)
        seed = draws.race_seeds(u[lo:lo + RACE_CHUNK])
        bi = compiled.argmin_ratio(top, draws.race_logs(seed, np.arange(nb)), block_tot[rr])
        cols = bi[:, None] * b + np.arange(nb, nb + b)[None, :]
        j = compiled.argmin_ratio(top, draws.race_logs(seed, cols), wb[rr, bi])
        dest[wh] = bi * b + j


#: Choosers drawn at once by the compiled path (bounds its (choosers x sqrt(n)) buffers).
CHOOSER_CHUNK = 16_384


def _draw_compiled(g_origin: np.ndarray, g_seg: np.ndarray, inv: np.ndarray, u: np.ndarray,
                   kernels: np.ndarray, stage_of_seg: np.ndarray, attract: np.ndarray,
                   nb: int, b: int, dest: np.ndarray, threads: int) -> None:
    """The two-level race of :func:`_draw_chunk` for all choosers at once (compiled kernels).

    Block totals are numpy's pairwise sums of :func:`choice_rows`, row chunk by row chunk
    exactly as in :func:`_draw_chunk`; then each chooser's block race and column race run
    in compiled loops that read the block totals and the float32 weights in place instead of
    gathering them, over large runs of choosers. Every number compared is computed by the
    same operations as in :func:`_draw_chunk` (the logs by numpy), so the destinations are
    identical (``tests/test_kernels.py``).
    """
    n_groups = len(g_origin)
    npad = attract.shape[1]
    block_tot = np.empty((n_groups, nb))
    has = np.empty(n_groups, bool)
    buf = np.empty((CHUNK_ROWS, npad), np.float32)
    scratch = np.empty_like(buf)
    for start in range(0, n_groups, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, n_groups)
        w = choice_rows(g_origin[start:stop], g_seg[start:stop], kernels, stage_of_seg,
                        attract, out=buf, scratch=scratch)
        bt = w.reshape(len(w), nb, b).sum(axis=2, dtype=np.float64)
        block_tot[start:stop] = bt
        has[start:stop] = bt.sum(axis=1) > 0
    who = np.flatnonzero(has[inv])
    if len(who) == 0:
        return
    n1 = kernels.shape[1]
    k2 = kernels.reshape(-1, kernels.shape[2])
    g_krow = stage_of_seg[g_seg] * n1 + np.where(g_origin >= 0, g_origin, n1 - 1)
    codes = draws._index_codes(nb + npad)
    block_codes = codes[:nb]
    top = draws._LOG_2_53

    def work(lo: int) -> None:
        sel = who[lo:lo + CHOOSER_CHUNK]
        r = inv[sel]
        seed = draws.race_seeds(u[sel])
        logs = compiled.race_inputs(seed, block_codes)
        np.log(logs, out=logs)
        bi = compiled.argmin_rows(top, logs, block_tot, r)
        first = bi * b
        logs = compiled.race_inputs_run(seed, codes, first + nb, b)
        np.log(logs, out=logs)
        j = compiled.argmin_weights(top, logs, k2, g_krow[r], attract, g_seg[r], first)
        dest[sel] = first + j

    starts = range(0, len(who), CHOOSER_CHUNK)
    n_threads = max(1, min(threads, len(starts)))
    if n_threads == 1:
        for lo in starts:
            work(lo)
    else:
        # the kernels release the GIL; chunks write disjoint entries of dest
        with ThreadPoolExecutor(n_threads) as ex:
            list(ex.map(work, starts))


def accept(dest: np.ndarray, vacant: np.ndarray,
           rng: np.random.Generator | np.ndarray) -> np.ndarray:
    """Which choosers get a dwelling: at most ``vacant[j]`` of those choosing ``j``, at random.

    ``rng`` is a generator or one priority uniform per chooser (keyed draws).
    """
    ok = dest >= 0
    idx = np.flatnonzero(ok)
    prio = rng.random(len(idx)) if isinstance(rng, np.random.Generator) \
        else np.asarray(rng)[idx]
    order = idx[np.argsort(dest[idx] + prio * 0.999999)]
    d = dest[order]
    start = np.searchsorted(d, d, side="left")
    rank = np.arange(len(order)) - start
    got = np.zeros(len(dest), bool)
    got[order[rank < vacant[d]]] = True
    return got


@dataclass
class Allocation:
    """Outcome of :func:`allocate` per chooser."""

    dest: np.ndarray  # place of the dwelling obtained, -1 if none
    first_choice: np.ndarray  # destination chosen in the first round (demand signal)


def allocate(origin: np.ndarray, seg: np.ndarray, housed: np.ndarray, kernels: np.ndarray,
             stage_of_seg: np.ndarray, values: np.ndarray, vacant: np.ndarray, rounds: int,
             rng: np.random.Generator | None, keyed=None, threads: int = 1) -> Allocation:
    """Choice rounds with vacancy limits.

    Args:
        origin: Current place (-1 outside the region).
        seg: Segment per chooser.
        housed: Whether the chooser frees a dwelling at ``origin`` when it moves.
        kernels: Distance kernels per stage, shape (4, n + 1, n) (see :func:`choice_rows`).
        stage_of_seg: Stage of each segment.
        values: Systematic utility (n_segments, n).
        vacant: Vacant dwellings per place (copied, not modified).
        rounds: Choice rounds.
        rng: A stream (when ``keyed`` is not given).
        keyed: Optional ``keyed(rows, draw) -> uniforms`` for choosers ``rows`` and a
            :class:`sim.rng.Draw` (keyed by household, for common random numbers); replaces
            ``rng`` when given.
        threads: Threads of the destination draw (results do not depend on it).
    """
    vac = vacant.astype(np.int64).copy()
    n = len(vac)
    npad = kernels.shape[2]
    final = np.full(len(origin), -1, np.int64)
    first = np.full(len(origin), -1, np.int64)
    left = np.arange(len(origin))
    vmax = values.max(axis=1, keepdims=True)
    expv = np.zeros((values.shape[0], npad), np.float32)
    expv[:, :n] = np.exp(values - vmax)
    for r in range(rounds):
        if len(left) == 0:
            break
        vac_pad = np.zeros(npad, np.float32)
        vac_pad[:n] = np.maximum(vac, 0)
        attract = expv * vac_pad[None, :]
        u_dest = rng if keyed is None else keyed(left, draws.destination_draw(r))
        d = draw_destinations(origin[left], seg[left], kernels, stage_of_seg, attract, u_dest,
                              threads)
        if r == 0:
            first[left] = d
        got = accept(d, vac, rng if keyed is None else keyed(left, draws.acceptance_draw(r)))
        winners = left[got]
        final[winners] = d[got]
        vac -= np.bincount(d[got], minlength=n)
        freed = winners[housed[winners]]
        vac += np.bincount(origin[freed], minlength=n)
        left = left[~got & (d >= 0)]
    return Allocation(dest=final, first_choice=first)


@dataclass(frozen=True)
class MoveStats:
    """Moves of households that lived in the region at the start of the year.

    Attributes:
        moves: Household moves (a move within one place counts).
        short: Moves under :data:`SHORT_MOVE_KM`.
        within_municipality: Moves that stay in the municipality.
        km_sum: Total distance moved (km; within a place: ``world.intra_place_km``).
        by_stage: Moves per life stage (in :data:`sim.params.STAGES` order).
        households_by_stage: Households per life stage present at the start of the year.
        persons: Persons moving (every member of a moving household counts, as Statistics
            Denmark counts moves).
        persons_short: Persons moving less than :data:`SHORT_MOVE_KM`.
        persons_within_municipality: Persons moving within their municipality.
    """

    moves: int
    short: int
    within_municipality: int
    km_sum: float
    by_stage: tuple[int, ...]
    households_by_stage: tuple[int, ...]
    persons: int = 0
    persons_short: int = 0
    persons_within_municipality: int = 0


@dataclass(frozen=True)
class RelocationResult:
    """What the relocation stage did in a year.

    Attributes:
        in_movers: Persons moving into each place from another place of the region.
        out_movers: Persons moving out of each place to another place of the region.
        in_from_other_municipality: Of the in-movers, those from another municipality.
        out_to_other_municipality: Of the out-movers, those to another municipality.
        immigrants: In-migrant persons who found a dwelling, per place.
        extra_emigrants: Young adults who found no dwelling and whose parental home is
            gone: they leave the region (persons per place).
        arrived_by_band: In-migrant persons who found a dwelling, per FOLK1A age band.
        applicants: First-round choices per place.
        demand_per_vacancy: Expected first-round choosers per vacancy of every place
            (:func:`demand_signal` with every household weighted by its chance of choosing;
            the scale-free demand signal of prices and construction).
        demand_variance: The variance the run's scale adds to ``demand_per_vacancy``
            over a 1:1 run (``(1 - scale)`` times :attr:`DemandSignal.thinning_variance`).
        vacant_before: Vacant dwellings per place before the moves.
        moves: Move statistics.
    """

    in_movers: np.ndarray
    out_movers: np.ndarray
    in_from_other_municipality: np.ndarray
    out_to_other_municipality: np.ndarray
    immigrants: np.ndarray
    extra_emigrants: np.ndarray
    applicants: np.ndarray
    arrived_by_band: np.ndarray
    demand_per_vacancy: np.ndarray
    demand_variance: np.ndarray
    vacant_before: np.ndarray
    moves: MoveStats


class Relocation:
    """The relocation stage: who moves, where to, vacancies, new jobs, the unhoused.

    This is the ``standard`` rule (:data:`RULES`). A research group changes the rule by
    subclassing it, overriding a method (:meth:`move_probability` for who moves,
    :meth:`destination_values` for how places are valued) and registering the subclass
    with :func:`register_rule`; ``relocation.rule = "name"`` in a parameter or scenario file
    selects it.

    Args:
        world: Geography.
        params: The run's parameters (relocation and world parts are used).
        segments: The run's segments.
        threads: Threads of the destination draw (default :func:`default_threads`).
    """

    def __init__(self, world: World, params: Parameters, segments: Segments,
                 threads: int | None = None) -> None:
        self.world = world
        self.params = params
        self.segments = segments
        self.threads = default_threads() if threads is None else max(1, int(threads))
        lam = np.asarray(params.relocation.distance_decay_per_km, np.float32)
        self.kernels = distance_kernels(world.dist_km, lam)
        self.muni = world.places["municipality_code"].to_numpy()

    def run(self, pop: Population, values: np.ndarray, dwellings: np.ndarray,
            dem: DemographyResult, mig: MigrationResult, jobs: Jobs, streams: Streams,
            year: int) -> RelocationResult:
        """One year of moves; updates ``pop`` (places, the unhoused, compaction).

        Args:
            pop: Population after migration (arrivals appended, leavers marked).
            values: Systematic utility per segment and place (:func:`sim.place_state.place_values`).
            dwellings: Dwellings per place (simulated).
            dem: This year's demography (leavers and their parental households).
            mig: This year's migration.
            jobs: The run's jobs (new workplaces after moves).
            streams: The run's streams.
            year: The year simulated.
        """
        p = self.params
        n = self.world.n
        hh = pop.households
        pp = pop.persons
        incoming = mig.incoming
        gone = np.zeros(len(hh), bool)
        gone[:mig.n_before] = mig.leaving
        size, minors, workers = compiled.household_counts(pp.hh, pp.age, pp.employed, len(hh))
        stage = stage_of(mig.head_age, minors)
        worker = workers > 0
        seg = self.segments.of(stage=stage, car=hh.car, worker=worker, tenure=hh.renter)
        values = self.destination_values(values, pop)
        logsum = logsums(values, dwellings)
        pm = self.move_probability(stage, values[seg, hh.place], logsum[seg], hh.years)
        decide = hh.housed & (streams.uniform(draws.MOVE_DECISION, hh.key, year) < pm)
        choosers = np.flatnonzero(decide | (~hh.housed & ~gone))
        # in-migrants choose from their entry place (sim.migration), like any mover
        origin = hh.place[choosers].astype(np.int64)
        arriving = incoming[choosers]
        occupied = np.bincount(hh.place[hh.housed], minlength=n)
        vacant = np.maximum(dwellings - occupied, 0)
        chooser_keys = hh.key[choosers]

        def keyed(rows: np.ndarray, draw: draws.Draw) -> np.ndarray:
            return streams.uniform(draw, chooser_keys[rows], year)

        # the demand counts every household that may choose by its chance of choosing (the
        # housed by their moving probability, the unhoused fully): the expectation of the
        # realised choosers, without the noise of this year's moving draws
        may = hh.housed | ~gone
        expected = np.where(hh.housed, pm, 1.0)[may]
        demand = demand_signal(hh.place[may].astype(np.int64), seg[may], self.kernels,
                               self.segments.stage, values, vacant, spread=p.scale < 1.0,
                               weight=expected)
        alloc = allocate(origin, seg[choosers], hh.housed[choosers], self.kernels,
                         self.segments.stage, values, vacant, p.relocation.rounds, None,
                         keyed=keyed, threads=self.threads)
        got = alloc.dest >= 0
        c_got = choosers[got]
        dest = alloc.dest[got]
        org = origin[got]
        sizes = size[c_got]
        internal = ~arriving[got]
        between = internal & (org != dest)
        in_movers = np.bincount(dest[between], weights=sizes[between], minlength=n)
        out_movers = np.bincount(org[between], weights=sizes[between], minlength=n)
        across = internal & (self.muni[org] != self.muni[dest])
        in_across = np.bincount(dest[across], weights=sizes[across], minlength=n)
        out_across = np.bincount(org[across], weights=sizes[across], minlength=n)
        arrived = np.bincount(dest[~internal], weights=sizes[~internal], minlength=n)
        oi, di = org[internal], dest[internal]
        km = np.where(oi == di, p.world.intra_place_km, self.world.dist_km[oi, di])
        moved_stage = stage[c_got[internal]]
        present = ~gone & ~incoming  # households of the region at the start of the step
        short = km < SHORT_MOVE_KM
        same_muni = self.muni[oi] == self.muni[di]
        members = sizes[internal]
        stats = MoveStats(
            moves=int(internal.sum()), short=int(short.sum()),
            within_municipality=int(same_muni.sum()), km_sum=float(km.sum()),
            by_stage=tuple(int((moved_stage == i).sum()) for i in range(len(STAGES))),
            households_by_stage=tuple(int(np.count_nonzero(present & (stage == i)))
                                      for i in range(len(STAGES))),
            persons=int(members.sum()), persons_short=int(members[short].sum()),
            persons_within_municipality=int(members[same_muni].sum()))
        came = np.zeros(len(hh), bool)
        came[c_got[~internal]] = True
        arrived_by_band = np.bincount(band_of(pp.age[compiled.gather(came, pp.hh)]),
                                      minlength=len(BAND_LOWS))
        hh.place[c_got] = dest.astype(np.int32)
        hh.housed[c_got] = True
        hh.years[c_got] = 0
        # workers of moved households far from their job, and new entrants, take a job nearer
        moved = np.zeros(len(hh), bool)
        moved[c_got] = True
        check = np.flatnonzero(pp.employed & (compiled.gather(moved, pp.hh) | (pp.workplace < 0)))
        home = hh.place[pp.hh[check]]
        wp = pp.workplace[check]
        far = (wp < 0) | (self.world.car_min[home, np.maximum(wp, 0)] > MAX_COMMUTE_MIN)
        u_job = streams.uniform(draws.NEW_JOB, pp.pid[check[far]], year)
        pp.workplace[check[far]] = jobs.choose(home[far], u_job)
        # household- and person-sized temporaries go before the compaction copies the tables
        del size, minors, workers, worker, seg, pm, decide, moved, check, home, wp, far, came
        extra, follow_out, follow_in = settle_unhoused(pop, incoming, gone, dem, n)
        return RelocationResult(
            in_movers=in_movers + follow_in, out_movers=out_movers + follow_out,
            in_from_other_municipality=in_across, out_to_other_municipality=out_across,
            immigrants=arrived, extra_emigrants=extra,
            applicants=np.bincount(alloc.first_choice[alloc.first_choice >= 0], minlength=n),
            arrived_by_band=arrived_by_band, demand_per_vacancy=demand.per_vacancy,
            demand_variance=(1.0 - p.scale) * demand.thinning_variance, vacant_before=vacant,
            moves=stats)

    # -- the rule's parts a subclass may change --------------------------------------------
    def move_probability(self, stage: np.ndarray, v_home: np.ndarray, logsum: np.ndarray,
                         years: np.ndarray) -> np.ndarray:
        """Yearly moving probability of each household (used for the housed ones).

        Args:
            stage: Life stage per household.
            v_home: Utility of its current place for its segment.
            logsum: Logsum of its segment over the region's dwellings.
            years: Years at the current address.
        """
        r = self.params.relocation
        return move_probability(stage, v_home, logsum, np.asarray(r.move_rate),
                                r.dissatisfaction_gain)

    def destination_values(self, values: np.ndarray, pop: Population) -> np.ndarray:
        """The utilities (segments x places) the choices use (standard: the place values)."""
        return values


#: Relocation rules by name; ``relocation.rule`` selects one (entry-point group
#: ``landsim.relocation_rules``).
RULES: Registry[type[Relocation]] = Registry("relocation rule", "landsim.relocation_rules")


def register_rule(name: str):
    """Class decorator registering a :class:`Relocation` subclass as a relocation rule."""

    def deco(cls: type[Relocation]) -> type[Relocation]:
        if not (isinstance(cls, type) and issubclass(cls, Relocation)):
            raise TypeError(f"{getattr(cls, '__name__', cls)} must subclass "
                            "sim.relocation.Relocation")
        RULES.register(name, cls)
        return cls

    return deco


register_rule("standard")(Relocation)


def settle_unhoused(pop: Population, incoming: np.ndarray, gone: np.ndarray,
                    dem: DemographyResult, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Young adults without a dwelling return home; in-migrants without one do not come.

    A young adult whose parental household no longer exists (died out or emigrated) leaves
    the region. Out-migrants and the households left empty are removed: the year's one
    compaction after demography.

    Returns:
        (persons leaving the region per place, persons following a moved parental household
        out of each place, and into each place).
    """
    hh = pop.households
    pp = pop.persons
    none = np.zeros(n, np.int64)
    left = np.flatnonzero(~hh.housed)
    if len(left) == 0:
        return none, none, none
    drop_hh = gone.copy()
    drop_hh[left[incoming[left]]] = True
    # rows are found by id (ids are derived, not ordered); demography's own rows after its
    # compaction, checked against the ids, save the search
    hids = np.concatenate([dem.parent_hid, dem.leaver_hid])
    rows = None
    if dem.parent_row is not None and dem.leaver_row is not None:
        rows = np.concatenate([dem.parent_row, dem.leaver_row]).astype(np.int64)
        if rows.max(initial=-1) >= len(hh) or np.any(hh.hid[rows[rows >= 0]] != hids[rows >= 0]):
            rows = None
    if rows is None:
        rows = pop.rows_of(hids)
    parent_rows, leaver_rows = rows[:len(dem.parent_hid)], rows[len(dem.parent_hid):]
    parent_alive = (parent_rows >= 0) & ~gone[parent_rows]
    parent_rows = np.maximum(parent_rows, 0)
    found = leaver_rows >= 0  # always, unless a leaver's household was removed
    back = np.full(len(hh), -1, np.int64)
    back[leaver_rows[found]] = np.where(parent_alive, parent_rows, -1)[found]
    unhoused_leaver = ~hh.housed & ~incoming & ~gone
    returning = unhoused_leaver & (back >= 0)
    orphan = unhoused_leaver & (back < 0)
    drop_hh |= orphan
    ret_p = compiled.gather(returning, pp.hh)
    # a parental household that moved this year takes the returning young adult along
    src = hh.place[pp.hh[ret_p]]
    dst = hh.place[back[pp.hh[ret_p]]]
    follow = src != dst
    follow_out = np.bincount(src[follow], minlength=n)
    follow_in = np.bincount(dst[follow], minlength=n)
    pp.hh[ret_p] = back[pp.hh[ret_p]].astype(np.int32)
    pp.child[ret_p] = True
    orphan_p = compiled.gather(orphan, pp.hh)
    extra = np.bincount(hh.place[pp.hh[orphan_p]], minlength=n)
    pop.compact(~compiled.gather(drop_hh, pp.hh))
    return extra, follow_out, follow_in
