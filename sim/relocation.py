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
row, and drawn by inverse CDF.

**Vacancies.** Movers need a vacant dwelling. Where more movers chose a place than it has
vacancies, a random subset gets them; the rest choose again among the remaining vacancies
(``rounds`` times). A household that still has no dwelling stays where it was; a young adult
returns to the parental home; an in-migrant does not come.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

#: Rows of weights computed at once: small enough to stay in cache (measured best at 128).
CHUNK_ROWS = 128
#: Threads drawing destinations (results are identical for any value).
THREADS = min(2, os.cpu_count() or 1)


def segment_of(stage: np.ndarray, car: np.ndarray, worker: np.ndarray) -> np.ndarray:
    """Segment index ``stage * 4 + car * 2 + worker``."""
    return (stage.astype(np.int64) * 4 + car.astype(np.int64) * 2
            + worker.astype(np.int64)).astype(np.int16)


def logsums(values: np.ndarray, dwellings: np.ndarray) -> np.ndarray:
    """Dwelling-weighted logsum of each segment's place values, shape (n_segments,)."""
    share = dwellings / max(dwellings.sum(), 1)
    m = values.max(axis=1, keepdims=True)
    return (m[:, 0] + np.log(np.maximum((share[None, :] * np.exp(values - m)).sum(axis=1),
                                        1e-300)))


def move_probability(stage: np.ndarray, v_home: np.ndarray, logsum: np.ndarray,
                     move_rate: np.ndarray, gain: float) -> np.ndarray:
    """Yearly moving probability of housed households (see module docstring)."""
    factor = 2.0 / (1.0 + np.exp(-gain * (logsum - v_home)))
    return np.clip(move_rate[stage] * factor, 0.0, 1.0)


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
    np.take(k2, rows, axis=0, out=w)
    np.take(attract, segs, axis=0, out=a)
    np.multiply(w, a, out=w)
    return w


def block_size(n: int) -> int:
    """Columns per block of the two-level draw (about sqrt(n))."""
    return max(int(np.ceil(np.sqrt(n))), 1)


def draw_destinations(origin: np.ndarray, seg: np.ndarray, kernels: np.ndarray,
                      stage_of_seg: np.ndarray, attract: np.ndarray,
                      rng: np.random.Generator | np.ndarray) -> np.ndarray:
    """Destination per chooser (-1 if no place has a vacancy): an exact logit draw.

    Choosers sharing (origin, segment) share one weight row. The inverse-CDF draw is done in
    two levels so no full running sum is needed: columns are cut into blocks of about
    sqrt(n); a chooser first draws a block from the block totals, then a column inside it
    from that block's running sum. The result has exactly the row's probabilities.
    ``rng`` is a generator, or one uniform per chooser (keyed draws for common random
    numbers).
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
    n_threads = max(1, min(THREADS, len(starts) // 4))
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
    """Two-level inverse-CDF draw for the choosers of one chunk of weight rows."""
    wb = w.reshape(len(w), nb, b)
    block_tot = wb.sum(axis=2)
    bcum = np.cumsum(block_tot, axis=1, dtype=np.float64)
    total = bcum[:, -1]
    ok = total[r] > 0
    who, r, u = who[ok], r[ok], u[ok]
    target = u * total[r]
    bi = np.minimum((bcum[r] <= target[:, None]).sum(axis=1), nb - 1)
    # a block reached only through rounding has no weight: step back to a weighted one
    empty = block_tot[r, bi] <= 0
    while empty.any():
        bi[empty] -= 1
        empty = block_tot[r, bi] <= 0
    before = np.where(bi > 0, bcum[r, np.maximum(bi - 1, 0)], 0.0)
    inner = np.cumsum(wb[r, bi], axis=1)
    t2 = np.minimum(target - before, inner[:, -1] * (1 - 1e-12))
    j = (inner <= t2[:, None]).sum(axis=1)
    dest[who] = bi * b + j


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
             rng: np.random.Generator, keyed=None) -> Allocation:
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
        rng: The relocation stream.
        keyed: Optional ``keyed(rows, slot) -> uniforms`` for choosers ``rows`` (keyed by
            household, for common random numbers); replaces ``rng`` when given.
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
        u_dest = rng if keyed is None else keyed(left, 10 + 2 * r)
        d = draw_destinations(origin[left], seg[left], kernels, stage_of_seg, attract, u_dest)
        if r == 0:
            first[left] = d
        got = accept(d, vac, rng if keyed is None else keyed(left, 11 + 2 * r))
        winners = left[got]
        final[winners] = d[got]
        vac -= np.bincount(d[got], minlength=n)
        freed = winners[housed[winners]]
        vac += np.bincount(origin[freed], minlength=n)
        left = left[~got & (d >= 0)]
    return Allocation(dest=final, first_choice=first)
