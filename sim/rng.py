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
