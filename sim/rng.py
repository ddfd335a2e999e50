"""Named random streams for one run.

Every yearly process draws from its own :class:`numpy.random.Generator`, spawned from the
run's :class:`numpy.random.SeedSequence`. Streams are keyed by ``(process, year)`` so that
adding a draw to one process (or one year) never shifts the draws of another.

Draws that concern one person or household use :meth:`Streams.keyed_uniform`: a uniform
that is a fixed function of (run seed, process, year, slot, the entity's id), computed by the
MurmurHash3 finaliser over the id with a key from the seed sequence. A scenario that changes
what happens in one village therefore leaves the draws of every other household and person
untouched (common random numbers per entity); only real interactions (vacancies, prices,
services, who moves where) can make their outcomes differ.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

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


def _key(name: str) -> int:
    """Stable 32-bit integer for a stream name (independent of Python's hash seed)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


_GOLDEN32 = np.uint32(0x9E3779B9)
_M1_32 = np.uint32(0x85EBCA6B)
_M2_32 = np.uint32(0xC2B2AE35)


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
            ids: Non-negative integer ids (person or household keys).
            year: Simulated year.
            slot: Distinguishes several draws of one process and year.
        """
        if process not in STREAMS:
            raise KeyError(f"unknown random stream {process!r}; known: {', '.join(STREAMS)}")
        ss = np.random.SeedSequence(entropy=self._root.entropy,
                                    spawn_key=(_key(process), int(year), int(slot), 0xC0FFEE))
        key = np.uint32(ss.generate_state(1, np.uint32)[0])
        # Weyl step then the MurmurHash3 32-bit finaliser (a bijection with full avalanche);
        # 32-bit integer arithmetic vectorises well, and 2**-32 resolution is ample here
        x = np.asarray(ids).astype(np.uint32)
        x *= _GOLDEN32
        x += key
        t = x >> np.uint32(16)
        x ^= t
        x *= _M1_32
        np.right_shift(x, np.uint32(13), out=t)
        x ^= t
        x *= _M2_32
        np.right_shift(x, np.uint32(16), out=t)
        x ^= t
        return x * (1.0 / 4294967296.0)
