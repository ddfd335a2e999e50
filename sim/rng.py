"""Named random streams for one run.

Every yearly process draws from its own :class:`numpy.random.Generator`, spawned from the
run's :class:`numpy.random.SeedSequence`. Streams are keyed by ``(process, year)`` so that
adding a draw to one process (or one year) never shifts the draws of another: this is what
lets later comparisons use common random numbers.
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
