"""Hot loops of the yearly step, compiled with numba when it is installed.

Every kernel here has a pure-numpy twin that gives **identical** results (the tests compare
them bit for bit, ``tests/test_kernels.py``), so installing numba (``pip install -e
".[fast]"``) changes only the speed, never a result. The kernels do only what numba and
numpy compute the same way on every machine: integer arithmetic, comparisons, copies, and
the IEEE operations ``+ - * /`` on one pair of values at a time. Transcendental functions
(``log``, ``exp``) stay in numpy, whose SIMD versions may differ from the C library's in the
last bit, and so do floating-point sums (numpy sums pairwise).

``LANDSIM_NUMBA=0`` in the environment turns the compiled kernels off (for comparisons);
:data:`ENABLED` says whether they are in use.
"""

from __future__ import annotations

import logging
import os

import numpy as np

log = logging.getLogger(__name__)

_GOLDEN64 = np.uint64(0x9E3779B97F4A7C15)
_M1_64 = np.uint64(0xBF58476D1CE4E5B9)
_M2_64 = np.uint64(0x94D049BB133111EB)


def _load_numba():
    if os.environ.get("LANDSIM_NUMBA", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    try:
        import numba
    except ImportError:
        return None
    return numba


_numba = _load_numba()
#: Whether the compiled kernels are used (numba importable and not turned off).
ENABLED = _numba is not None


# --------------------------------------------------------------------------- numpy twins
def group_max_numpy(group: np.ndarray, values: np.ndarray, n: int, fill: int,
                    dtype=np.int16) -> np.ndarray:
    """``out[g] = max(values[group == g])``, ``fill`` where a group has no member."""
    out = np.full(n, fill, dtype)
    np.maximum.at(out, group, values)
    return out


def head_age_numpy(hh: np.ndarray, age: np.ndarray, child: np.ndarray, n: int) -> np.ndarray:
    """Age of the oldest member who is not a child at home (oldest member if none), >= 0."""
    head = group_max_numpy(hh[~child], age[~child], n, -1)
    none = head < 0
    if none.any():
        sel = none[hh]
        np.maximum.at(head, hh[sel], age[sel])
    return np.maximum(head, 0)


def household_counts_numpy(hh: np.ndarray, age: np.ndarray, employed: np.ndarray,
                           n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Members, members under 18 and employed members per household (int32)."""
    return (np.bincount(hh, minlength=n).astype(np.int32),
            np.bincount(hh[age < 18], minlength=n).astype(np.int32),
            np.bincount(hh[employed], minlength=n).astype(np.int32))


def place_group_counts_numpy(hh_place: np.ndarray, hh: np.ndarray, group: np.ndarray,
                             n_places: int, n_groups: int,
                             hh_mask: np.ndarray | None = None) -> np.ndarray:
    """Persons per (place of their household, group), shape (n_places, n_groups), int64.

    ``group`` is each person's group (e.g. an age group); ``hh_mask`` keeps only the
    persons of the households where it is true.
    """
    if hh_mask is not None:  # select first: person-sized temporaries of the kept only
        sel = hh_mask[hh]
        hh, group = hh[sel], np.asarray(group)[sel]
    cell = hh_place[hh].astype(np.int64)
    cell *= n_groups  # in place: one person-sized int64 array, not three
    cell += group
    return np.bincount(cell, minlength=n_places * n_groups).reshape(n_places, n_groups)


def compact_rows_numpy(keep: np.ndarray, hh: np.ndarray, n_hh: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows kept by a compaction: (person rows kept, alive households, new household row).

    Persons in ``keep`` stay; a household stays if one of them lives in it. The new row of
    a removed household is -1. Rows are int32 (tables stay below 2**31 rows).
    """
    rows = np.flatnonzero(keep).astype(np.int32)
    alive = np.bincount(hh[rows], minlength=n_hh) > 0
    new_index = np.cumsum(alive, dtype=np.int32) - np.int32(1)
    new_index[~alive] = -1
    return rows, alive, new_index


def rank_within_numpy(group: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order sorting by (group, key, position) and each element's rank within its group."""
    order = np.lexsort((key, group))
    g = group[order]
    start = np.searchsorted(g, g, side="left")
    rank = np.empty(len(group), np.int64)
    rank[order] = np.arange(len(group)) - start
    return order, rank


def sample_rows_numpy(flat: np.ndarray, n_cols: int, rows: np.ndarray,
                      u: np.ndarray) -> np.ndarray:
    """Inverse-CDF column per entry: ``flat`` holds row ``r``'s CDF plus ``r`` at r * n_cols."""
    idx = np.searchsorted(flat, rows + u, side="right")
    return np.minimum(idx - rows * n_cols, n_cols - 1)


def race_inputs_numpy(seed: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``(mix(seed_i ^ code) >> 11) + 0.5`` as float64 for every chooser and code.

    ``codes`` is one row of codes for every chooser (shape (k,)) or one row each (m, k).
    The log of the result is taken by the caller (numpy's ``log``; see the module note).
    """
    if codes.ndim == 1:
        x = np.bitwise_xor(seed[:, None], codes[None, :])
    else:
        x = codes ^ seed[:, None]
    _mix64(x)
    x >>= np.uint64(11)
    e = x.astype(np.float64)
    e += 0.5
    return e


def argmin_ratio_numpy(top: float, logs: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``argmin_k (top - logs[i, k]) / den[i, k]`` per row (first index of the minimum)."""
    with np.errstate(divide="ignore"):
        return np.argmin((top - logs) / den, axis=1)


def argmin_rows_numpy(top: float, logs: np.ndarray, den: np.ndarray,
                      r: np.ndarray) -> np.ndarray:
    """``argmin_k (top - logs[i, k]) / den[r[i], k]`` per row (the block race)."""
    return argmin_ratio_numpy(top, logs, den[r])


def race_inputs_run_numpy(seed: np.ndarray, codes: np.ndarray, first: np.ndarray,
                          k: int) -> np.ndarray:
    """:func:`race_inputs_numpy` with codes ``first[i] .. first[i] + k - 1`` in row ``i``."""
    return race_inputs_numpy(seed, codes[first[:, None] + np.arange(k)[None, :]])


def argmin_weights_numpy(top: float, logs: np.ndarray, k2: np.ndarray, krow: np.ndarray,
                         attract: np.ndarray, seg: np.ndarray, first: np.ndarray
                         ) -> np.ndarray:
    """The column race: ``argmin_k (top - logs[i, k]) / w[i, k]`` per row.

    ``w[i, k] = k2[krow[i], c] * attract[seg[i], c]`` with ``c = first[i] + k``: float32
    weights, as :func:`sim.relocation.choice_rows` computes them.
    """
    cols = first[:, None] + np.arange(logs.shape[1])[None, :]
    w = k2[krow[:, None], cols] * attract[seg[:, None], cols]
    return argmin_ratio_numpy(top, logs, w)


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (a bijection of uint64 with full avalanche), in place."""
    t = x >> np.uint64(30)
    x ^= t
    x *= _M1_64
    np.right_shift(x, np.uint64(27), out=t)
    x ^= t
    x *= _M2_64
    np.right_shift(x, np.uint64(31), out=t)
    x ^= t
    return x


def keyed_uniforms_numpy(ids: np.ndarray, key: np.uint64) -> np.ndarray:
    """Uniforms ``(mix(id * golden + key) >> 11) / 2**53`` (see :meth:`sim.rng.Streams`)."""
    x = np.atleast_1d(np.asarray(ids)).astype(np.int64).astype(np.uint64)
    x *= _GOLDEN64
    x += key
    _mix64(x)
    x >>= np.uint64(11)
    return x * (1.0 / 9007199254740992.0)


def gather_numpy(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``values[index]``: e.g. a household column read for every person (``index`` = ``hh``)."""
    return values[index]


def bucket_members_numpy(existing: np.ndarray, table: np.ndarray, mask: np.uint64
                         ) -> np.ndarray:
    """The ids of ``existing`` whose low bits (``& mask``) are marked in ``table``."""
    return existing[table[existing.view(np.uint64) & mask]]


# --------------------------------------------------------------------------- compiled
if ENABLED:
    _jit = _numba.njit(cache=True, nogil=True, error_model="numpy")

    @_jit
    def _mix64_scalar(x):  # pragma: no cover - compiled
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
        return x

    @_jit
    def _group_max_nb(group, values, n, fill, out):  # pragma: no cover - compiled
        for g in range(n):
            out[g] = fill
        for i in range(len(group)):
            g = group[i]
            if values[i] > out[g]:
                out[g] = values[i]
        return out

    @_jit
    def _head_age_nb(hh, age, child, n):  # pragma: no cover - compiled
        head = np.full(n, -1, np.int16)
        oldest = np.full(n, -1, np.int16)
        for i in range(len(hh)):
            h = hh[i]
            a = age[i]
            if a > oldest[h]:
                oldest[h] = a
            if not child[i] and a > head[h]:
                head[h] = a
        for h in range(n):
            if head[h] < 0:
                head[h] = oldest[h] if oldest[h] > 0 else 0
        return head

    @_jit
    def _household_counts_nb(hh, age, employed, n):  # pragma: no cover - compiled
        size = np.zeros(n, np.int32)
        minors = np.zeros(n, np.int32)
        workers = np.zeros(n, np.int32)
        for i in range(len(hh)):
            h = hh[i]
            size[h] += 1
            if age[i] < 18:
                minors[h] += 1
            if employed[i]:
                workers[h] += 1
        return size, minors, workers

    @_jit
    def _keyed_uniforms_nb(ids, key):  # pragma: no cover - compiled
        out = np.empty(len(ids), np.float64)
        for i in range(len(ids)):
            x = np.uint64(ids[i]) * np.uint64(0x9E3779B97F4A7C15) + key
            x = _mix64_scalar(x)
            out[i] = np.float64(x >> np.uint64(11)) * (1.0 / 9007199254740992.0)
        return out

    @_jit
    def _race_inputs_1d_nb(seed, codes):  # pragma: no cover - compiled
        m = len(seed)
        k = len(codes)
        out = np.empty((m, k), np.float64)
        for i in range(m):
            s = seed[i]
            for j in range(k):
                x = _mix64_scalar(s ^ codes[j])
                out[i, j] = np.float64(x >> np.uint64(11)) + 0.5
        return out

    @_jit
    def _race_inputs_2d_nb(seed, codes):  # pragma: no cover - compiled
        m, k = codes.shape
        out = np.empty((m, k), np.float64)
        for i in range(m):
            s = seed[i]
            for j in range(k):
                x = _mix64_scalar(codes[i, j] ^ s)
                out[i, j] = np.float64(x >> np.uint64(11)) + 0.5
        return out

    @_jit
    def _argmin_ratio_nb(top, logs, den):  # pragma: no cover - compiled
        m, k = logs.shape
        out = np.zeros(m, np.int64)
        for i in range(m):
            best = np.inf
            arg = 0
            for j in range(k):
                v = (top - logs[i, j]) / den[i, j]
                if v != v:  # numpy's argmin returns the first NaN
                    arg = j
                    break
                if v < best:
                    best = v
                    arg = j
            out[i] = arg
        return out

    @_jit
    def _place_group_counts_nb(hh_place, hh, group, n_places, n_groups,
                               hh_mask):  # pragma: no cover - compiled
        out = np.zeros((n_places, n_groups), np.int64)
        use_mask = len(hh_mask) > 0
        for i in range(len(hh)):
            h = hh[i]
            if use_mask and not hh_mask[h]:
                continue
            out[hh_place[h], group[i]] += 1
        return out

    @_jit
    def _compact_rows_nb(keep, hh, n_hh):  # pragma: no cover - compiled
        alive = np.zeros(n_hh, np.bool_)
        count = 0
        for i in range(len(keep)):
            if keep[i]:
                alive[hh[i]] = True
                count += 1
        rows = np.empty(count, np.int32)
        j = 0
        for i in range(len(keep)):
            if keep[i]:
                rows[j] = i
                j += 1
        new_index = np.empty(n_hh, np.int32)
        k = 0
        for h in range(n_hh):
            if alive[h]:
                new_index[h] = k
                k += 1
            else:
                new_index[h] = -1
        return rows, alive, new_index

    @_jit
    def _rank_within_nb(group, key, n_groups):  # pragma: no cover - compiled
        by_key = np.argsort(key, kind="mergesort")
        count = np.zeros(n_groups + 1, np.int64)
        for i in range(len(group)):
            count[group[i] + 1] += 1
        for g in range(n_groups):
            count[g + 1] += count[g]
        start = count[:n_groups].copy()
        order = np.empty(len(group), np.int64)
        rank = np.empty(len(group), np.int64)
        for i in by_key:  # a stable counting sort by group keeps the key order within groups
            g = group[i]
            pos = count[g]
            order[pos] = i
            rank[i] = pos - start[g]
            count[g] += 1
        return order, rank

    @_jit
    def _sample_rows_nb(flat, n_cols, rows, u):  # pragma: no cover - compiled
        out = np.empty(len(rows), np.int64)
        for i in range(len(rows)):
            r = rows[i]
            x = r + u[i]
            # the first entry > x: it is in row r's segment (or past it: the last column)
            lo = r * n_cols
            hi = lo + n_cols
            while lo < hi:
                mid = (lo + hi) // 2
                if flat[mid] > x:
                    hi = mid
                else:
                    lo = mid + 1
            out[i] = min(lo - r * n_cols, n_cols - 1)
        return out

    @_jit
    def _argmin_rows_nb(top, logs, den, r):  # pragma: no cover - compiled
        m, k = logs.shape
        out = np.zeros(m, np.int64)
        for i in range(m):
            best = np.inf
            arg = 0
            row = r[i]
            for j in range(k):
                v = (top - logs[i, j]) / den[row, j]
                if v != v:
                    arg = j
                    break
                if v < best:
                    best = v
                    arg = j
            out[i] = arg
        return out

    @_jit
    def _race_inputs_run_nb(seed, codes, first, k):  # pragma: no cover - compiled
        m = len(seed)
        out = np.empty((m, k), np.float64)
        for i in range(m):
            s = seed[i]
            f = first[i]
            for j in range(k):
                x = _mix64_scalar(codes[f + j] ^ s)
                out[i, j] = np.float64(x >> np.uint64(11)) + 0.5
        return out

    @_jit
    def _argmin_weights_nb(top, logs, k2, krow, attract, seg, first):  # pragma: no cover
        m, k = logs.shape
        out = np.zeros(m, np.int64)
        for i in range(m):
            best = np.inf
            arg = 0
            kr = krow[i]
            sg = seg[i]
            f = first[i]
            for j in range(k):
                w = k2[kr, f + j] * attract[sg, f + j]  # float32 product, as numpy's
                v = (top - logs[i, j]) / w
                if v != v:
                    arg = j
                    break
                if v < best:
                    best = v
                    arg = j
            out[i] = arg
        return out

    @_jit
    def _bucket_members_nb(existing, table, mask):  # pragma: no cover - compiled
        hit = np.zeros(len(existing), np.bool_)
        count = 0
        for i in range(len(existing)):
            if table[np.uint64(existing[i]) & mask]:
                hit[i] = True
                count += 1
        out = np.empty(count, existing.dtype)
        j = 0
        for i in range(len(existing)):
            if hit[i]:
                out[j] = existing[i]
                j += 1
        return out

    @_jit
    def _gather_nb(values, index):  # pragma: no cover - compiled
        out = np.empty(len(index), values.dtype)
        n = len(values)
        for i in range(len(index)):
            j = index[i]
            if j < 0 or j >= n:
                raise IndexError("gather: index out of bounds")
            out[i] = values[j]
        return out


# --------------------------------------------------------------------------- dispatch
def gather(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """See :func:`gather_numpy` (1-d ``values``, a non-negative int16, int32 or int64 ``index``).

    NumPy converts an int32 index to its own index type before it reads (a person-sized
    int64 copy for every household column read per person); the loop reads in place.
    """
    if (ENABLED and values.ndim == 1 and index.ndim == 1
            and index.dtype in (np.int16, np.int32, np.int64)):
        return _gather_nb(values, index)
    return gather_numpy(values, index)


def head_age(hh: np.ndarray, age: np.ndarray, child: np.ndarray, n: int) -> np.ndarray:
    """See :func:`head_age_numpy`."""
    if ENABLED and len(hh):
        return _head_age_nb(hh, age.astype(np.int16, copy=False), child, n)
    return head_age_numpy(hh, age, child, n)


def household_counts(hh: np.ndarray, age: np.ndarray, employed: np.ndarray,
                     n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """See :func:`household_counts_numpy`."""
    if ENABLED:
        return _household_counts_nb(hh, age, employed, n)
    return household_counts_numpy(hh, age, employed, n)


def keyed_uniforms(ids: np.ndarray, key: np.uint64) -> np.ndarray:
    """See :func:`keyed_uniforms_numpy`."""
    if ENABLED:
        x = np.atleast_1d(np.asarray(ids)).astype(np.int64, copy=False)
        return _keyed_uniforms_nb(x, np.uint64(key))
    return keyed_uniforms_numpy(ids, key)


def place_group_counts(hh_place: np.ndarray, hh: np.ndarray, group: np.ndarray,
                       n_places: int, n_groups: int,
                       hh_mask: np.ndarray | None = None) -> np.ndarray:
    """See :func:`place_group_counts_numpy`."""
    if ENABLED:
        mask = np.zeros(0, bool) if hh_mask is None else np.asarray(hh_mask, bool)
        return _place_group_counts_nb(hh_place, hh, np.asarray(group), n_places, n_groups,
                                      mask)
    return place_group_counts_numpy(hh_place, hh, group, n_places, n_groups, hh_mask)


def compact_rows(keep: np.ndarray, hh: np.ndarray, n_hh: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """See :func:`compact_rows_numpy`."""
    if ENABLED:
        return _compact_rows_nb(np.asarray(keep, bool), hh, n_hh)
    return compact_rows_numpy(keep, hh, n_hh)


def rank_within(group: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """See :func:`rank_within_numpy` (groups are non-negative integers)."""
    group = np.asarray(group)
    if ENABLED and len(group) and group.dtype.kind in "iu" and group.min() >= 0:
        return _rank_within_nb(group.astype(np.int64, copy=False),
                               np.asarray(key, np.float64), int(group.max()) + 1)
    return rank_within_numpy(group, key)


def sample_rows(flat: np.ndarray, n_cols: int, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """See :func:`sample_rows_numpy` (the search kept inside each row's segment)."""
    rows = np.asarray(rows)
    if ENABLED and rows.dtype.kind in "iu" and flat.dtype == np.float64:
        return _sample_rows_nb(flat, int(n_cols), rows.astype(np.int64, copy=False),
                               np.asarray(u, np.float64))
    return sample_rows_numpy(flat, n_cols, rows, u)


def race_inputs(seed: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """See :func:`race_inputs_numpy`."""
    if ENABLED:
        if codes.ndim == 1:
            return _race_inputs_1d_nb(seed, codes)
        return _race_inputs_2d_nb(seed, codes)
    return race_inputs_numpy(seed, codes)


def argmin_ratio(top: float, logs: np.ndarray, den: np.ndarray) -> np.ndarray:
    """See :func:`argmin_ratio_numpy`."""
    if ENABLED:
        return _argmin_ratio_nb(float(top), logs, den)
    return argmin_ratio_numpy(top, logs, den)


def argmin_rows(top: float, logs: np.ndarray, den: np.ndarray, r: np.ndarray) -> np.ndarray:
    """See :func:`argmin_rows_numpy`."""
    if ENABLED:
        return _argmin_rows_nb(float(top), logs, den, r)
    return argmin_rows_numpy(top, logs, den, r)


def race_inputs_run(seed: np.ndarray, codes: np.ndarray, first: np.ndarray,
                    k: int) -> np.ndarray:
    """See :func:`race_inputs_run_numpy`."""
    if ENABLED:
        return _race_inputs_run_nb(seed, codes, first, int(k))
    return race_inputs_run_numpy(seed, codes, first, k)


def argmin_weights(top: float, logs: np.ndarray, k2: np.ndarray, krow: np.ndarray,
                   attract: np.ndarray, seg: np.ndarray, first: np.ndarray) -> np.ndarray:
    """See :func:`argmin_weights_numpy`."""
    if ENABLED:
        return _argmin_weights_nb(float(top), logs, k2, krow, attract, seg, first)
    return argmin_weights_numpy(top, logs, k2, krow, attract, seg, first)


def bucket_members(existing: np.ndarray, table: np.ndarray, mask: np.uint64) -> np.ndarray:
    """See :func:`bucket_members_numpy`."""
    if ENABLED:
        return _bucket_members_nb(existing, table, np.uint64(mask))
    return bucket_members_numpy(existing, table, mask)
