"""Named random streams, keyed draws and derived ids for one run.

Every yearly process draws from its own :class:`numpy.random.Generator`, spawned from the
run's :class:`numpy.random.SeedSequence`. Streams are keyed by ``(process, year)`` so that
adding a draw to one process (or one year) never shifts the draws of another.

Draws that concern one person, household or service unit use :meth:`Streams.keyed_uniform`:
a uniform that is a fixed function of (run seed, process, year, slot, the entity's id),
computed by the SplitMix64 finaliser over the 64-bit id with a key from the seed sequence (a
bijection of the id, so two ids share a uniform only if the top 53 bits of their hashes
agree: about 2**-53 per pair).

Ids are derived from stable keys, not from counters (:func:`derived_ids`): a newborn's from
its mother's id and the year, an in-migrant's from the year, the template person it copies
and the copy number, a household's from its founder, a service unit's from its kind, place,
origin, opening year and order among those. The same person, household or unit therefore
has the same id, and draws the same numbers, in both arms of a comparison with one seed, as
long as it exists in both. What remains different between arms is what the model makes
different: a person who exists in one arm only, a choice that depends on other households
(vacancies, prices, services, the pull of the targeted places, couples formed within a
place) and the inverse-CDF mapping of a destination uniform onto places. How much that is,
measured, is in docs/ODD.md section 7.12.7 (``benchmarks/crn_divergence.py``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from . import kernels

STREAMS = (
    "population",
    "demography",
    "migration",
    "immigration",
    "services",
    "housing",
    "relocation",
    "initiatives",
)


@dataclass(frozen=True)
class Draw:
    """A named keyed draw: uniforms of ``process`` in ``slot``, one per entity and year.

    Every keyed draw of the model is one of the constants below (or of the per-round
    functions), so no module numbers its draws by hand. Never renumber a slot: results of a
    seed depend on it.
    """

    process: str
    slot: int
    name: str


# demography (keyed by person id, or household key for the union search)
DEATH = Draw("demography", 0, "death")
BIRTH = Draw("demography", 1, "birth")
NEWBORN_SEX = Draw("demography", 2, "newborn's sex")
EMPLOYMENT = Draw("demography", 3, "employment entry or exit")
LEAVE_HOME = Draw("demography", 4, "leaving home")
UNION_SEARCH = Draw("demography", 5, "living alone: looks for a partner")
UNION_RANK = Draw("demography", 6, "partner matching noise")
# migration (keyed by household key)
EMIGRATION = Draw("migration", 0, "leaves the region")
IN_MIGRANT_TEMPLATE = Draw("migration", 1, "copied by in-migrants (template household)")
IN_MIGRANT_ENTRY = Draw("migration", 2, "entry municipality of an in-migrant household")
IN_MIGRANT_PLACE = Draw("migration", 3, "entry place within the municipality")
# services (keyed by the unit's key, :attr:`sim.services.Services.key`)
SERVICE_CLOSURE = Draw("services", 0, "a long-unviable unit closes this year")
# initiatives (keyed by the place's index, its ``place_id``)
COOP_CLOSURE = Draw("initiatives", 0, "a cooperative shop closes for causes outside the model")
# relocation (keyed by household key; the job draw by person id)
MOVE_DECISION = Draw("relocation", 0, "decides to move")
NEW_JOB = Draw("relocation", 30, "new workplace after a move")
#: Choice rounds with their own slots (:func:`destination_draw`, :func:`acceptance_draw`).
MAX_ROUNDS = 10


def destination_draw(round_: int) -> Draw:
    """The destination uniform of choice round ``round_`` (0-based)."""
    _check_round(round_)
    return Draw("relocation", 10 + 2 * round_, f"destination, round {round_ + 1}")


def acceptance_draw(round_: int) -> Draw:
    """The priority uniform for vacancies in choice round ``round_`` (0-based)."""
    _check_round(round_)
    return Draw("relocation", 11 + 2 * round_, f"priority for a vacancy, round {round_ + 1}")


def _check_round(round_: int) -> None:
    if not 0 <= round_ < MAX_ROUNDS:
        raise ValueError(f"choice round {round_} outside 0..{MAX_ROUNDS - 1}")


def all_draws() -> list[Draw]:
    """Every keyed draw of the model (for the test that no two share a slot)."""
    fixed = [v for v in globals().values() if isinstance(v, Draw)]
    rounds = [f(r) for r in range(MAX_ROUNDS) for f in (destination_draw, acceptance_draw)]
    return fixed + rounds


#: Tags of derived ids (:func:`derived_ids`). Never renumber a tag: the ids (and so the
#: draws) of a seed depend on it.
ID_NEWBORN = 1  #: person: (mother's pid, year of birth); a woman gives birth once a year
ID_IN_MIGRANT = 2  #: person: (year, pid of the template member copied, copy number)
ID_LEAVER_HOUSEHOLD = 3  #: household formed by a young adult: (leaver's pid, year)
ID_IN_MIGRANT_HOUSEHOLD = 4  #: in-migrant household: (its first member's pid)
ID_SERVICE_UNIT = 5  #: service unit: (kind, place, origin, opened year, order among those)
ID_REHASH = 6  #: (an id that collided, attempt): see :func:`unique_ids`

_GOLDEN64 = np.uint64(0x9E3779B97F4A7C15)
#: SplitMix64 finaliser (a bijection of uint64 with full avalanche), in place; one
#: definition, shared with the compiled kernels.
_mix64 = kernels._mix64


def derived_ids(tag: int, *parts: np.ndarray | int) -> np.ndarray:
    """63-bit non-negative ids, a fixed function of ``tag`` and integer columns ``parts``.

    Each part is folded in by ``h = mix(h ^ mix(part * golden + 1))`` (SplitMix64), starting
    from the tag; the result is shifted to 63 bits. Different inputs collide with probability
    about 2**-63 per pair (ids of a 1:1 run: a few million, so about 1e-6 per run);
    :func:`unique_ids` resolves the rare collision. Parts broadcast against each other.
    """
    if not parts:
        raise ValueError("derived_ids needs at least one part")
    cols = np.broadcast_arrays(*(np.asarray(p) for p in parts))
    shape = cols[0].shape
    cols = [c.ravel() for c in cols]
    h = np.full(cols[0].shape, tag, np.uint64)
    h *= _GOLDEN64
    for c in cols:
        v = c.astype(np.int64).astype(np.uint64)
        v *= _GOLDEN64
        v += np.uint64(1)
        h ^= _mix64(v)
        _mix64(h)
    return (h >> np.uint64(1)).astype(np.int64).reshape(shape)


#: Buckets of the collision pre-filter of :func:`unique_ids` (low bits of the ids).
_BUCKET_BITS = 22


def unique_ids(candidates: np.ndarray, existing: np.ndarray) -> np.ndarray:
    """``candidates`` with every id that repeats an existing or an earlier candidate rehashed.

    A repeat (probability about 2**-63 per pair for :func:`derived_ids`) is replaced by
    ``derived_ids(ID_REHASH, id, attempt)`` until all are unique; deterministic, so both arms
    of a comparison resolve the same collision the same way unless their populations differ.
    The check is exact: ids of ``existing`` whose low bits match a candidate's are compared.
    """
    out = np.array(candidates, np.int64)
    if len(out) == 0:
        return out
    mask = np.uint64((1 << _BUCKET_BITS) - 1)
    existing = np.asarray(existing, np.int64)
    for attempt in range(1, 65):
        table = np.zeros(1 << _BUCKET_BITS, bool)
        table[out.view(np.uint64) & mask] = True
        near = np.sort(kernels.bucket_members(existing, table, mask))
        # bad = np.isin(out, near) | (a repeat of an earlier candidate), quicker
        bad = np.zeros(len(out), bool)
        if len(near):
            bad = near[np.minimum(np.searchsorted(near, out), len(near) - 1)] == out
        ordered = np.sort(out)
        if np.any(ordered[1:] == ordered[:-1]):
            _, first = np.unique(out, return_index=True)
            dup = np.ones(len(out), bool)
            dup[first] = False
            bad |= dup
        if not bad.any():
            return out
        out[bad] = derived_ids(ID_REHASH, out[bad], attempt)
    raise RuntimeError("could not derive unique ids in 64 attempts")  # pragma: no cover


_INDEX_SALT = np.uint64(0x632BE59BD9B4E019)


def _index_codes(size: int) -> np.ndarray:
    """``j * golden + salt`` for j < size (uint64; cached, grown as needed)."""
    global _CODES
    if len(_CODES) < size:
        _CODES = np.arange(max(size, 2 * len(_CODES)), dtype=np.uint64) * _GOLDEN64 + _INDEX_SALT
    return _CODES


_CODES = np.zeros(0, np.uint64)
_LOG_2_53 = 53.0 * np.log(2.0)


def indexed_exponentials(u: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Exp(1) variates, one per (row of ``u``, entry of ``index``), fixed by the two.

    ``u`` holds one uniform per chooser (a keyed uniform, or a generator's: both are
    multiples of 2**-53); ``index`` (non-negative integers) has shape (len(u), k), or (k,)
    for the same indices in every row. The
    uniform's 53 bits and the index are hashed (SplitMix64) to a uniform ``U`` in (0, 1) and
    ``-log U`` is returned, so one keyed uniform per chooser gives independent exponentials
    for every alternative (the destination race of :func:`sim.relocation.draw_destinations`).
    """
    e = race_logs(race_seeds(u), index)
    # -log((x + 0.5) / 2**53): in (0, 37]; positive and finite
    np.subtract(_LOG_2_53, e, out=e)
    return e


def race_seeds(u: np.ndarray) -> np.ndarray:
    """The hashed seed of each chooser's uniform (first half of :func:`indexed_exponentials`)."""
    seed = (np.asarray(u, np.float64) * 9007199254740992.0).astype(np.uint64)
    seed *= _GOLDEN64
    _mix64(seed)
    return seed


def race_logs(seed: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``log((x + 0.5))`` with ``x`` the 53-bit hash of (seed, index): ``-E = this - 53 log 2``.

    :func:`indexed_exponentials` returns ``53 log 2 - race_logs(...)``; the destination draw
    folds that subtraction into its comparison (:func:`sim.kernels.argmin_ratio`).
    """
    index = np.asarray(index)
    codes = _index_codes(int(index.max()) + 1 if index.size else 1)
    e = kernels.race_inputs(seed, codes[index])
    np.log(e, out=e)
    return e


def _key(name: str) -> int:
    """Stable 32-bit integer for a stream name (independent of Python's hash seed)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


class Streams:
    """Factory of independent generators derived from one seed.

    Args:
        seed: The run's seed (any non-negative integer).
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._root = np.random.SeedSequence(self.seed)

    def get(self, process: str, year: int = 0, *keys: int) -> np.random.Generator:
        """Generator for ``process`` in ``year`` (and optional integer ``keys``, e.g. a place).

        The same arguments give the same stream; streams with other keys are independent.
        """
        if process not in STREAMS:
            raise KeyError(f"unknown random stream {process!r}; known: {', '.join(STREAMS)}")
        ss = np.random.SeedSequence(
            entropy=self._root.entropy,
            spawn_key=(_key(process), int(year), *(int(k) for k in keys))
        )
        return np.random.Generator(np.random.PCG64(ss))

    def uniform(self, draw: Draw, ids: np.ndarray, year: int) -> np.ndarray:
        """The keyed uniforms of ``draw`` for ``ids`` in ``year`` (see :meth:`keyed_uniform`)."""
        return self.keyed_uniform(draw.process, ids, year, draw.slot)

    def keyed_uniform(self, process: str, ids: np.ndarray, year: int = 0,
                      slot: int = 0) -> np.ndarray:
        """Uniforms in [0, 1), one per id, fixed by (seed, process, year, slot, id).

        Args:
            process: A name from :data:`STREAMS`.
            ids: Integer ids (person or household keys, service unit keys; 64 bits).
            year: Simulated year.
            slot: Distinguishes several draws of one process and year.
        """
        if process not in STREAMS:
            raise KeyError(f"unknown random stream {process!r}; known: {', '.join(STREAMS)}")
        ss = np.random.SeedSequence(entropy=self._root.entropy,
                                    spawn_key=(_key(process), int(year), int(slot), 0xC0FFEE))
        key = np.uint64(ss.generate_state(1, np.uint64)[0])
        # a Weyl step then the SplitMix64 finaliser: a bijection of the 64-bit id, so
        # derived ids (63 bits) keep distinct uniforms; the top 53 bits make the uniform
        return kernels.keyed_uniforms(ids, key)
