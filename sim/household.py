"""Household agents in columnar arrays (one row per household) and their members.

Households hold place, identity, car, tenure and years at the address; persons hold age, sex,
household row, whether they live with their parents, employment and workplace. Derived
quantities (size, children, life stage, income class) are computed from the arrays on demand,
so there is one source of truth. :class:`Household` is a read-only view of one row for
inspection and tests; the model itself never loops over households.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, fields

import numpy as np

from . import kernels
from .params import STAGES
from .rng import unique_ids

YOUNG, FAMILY, ADULT, SENIOR = range(4)


def _as_index(idx: np.ndarray) -> np.ndarray:
    """Row indices from an index array or a boolean mask (converted once, used per column)."""
    idx = np.asarray(idx)
    return np.flatnonzero(idx) if idx.dtype == bool else idx


def _keep_rows(table: Persons | Households, idx: np.ndarray) -> None:
    """Keep rows ``idx`` (index or mask) of ``table`` in place, one column at a time.

    The same columns as ``table.take(idx)``; each old column is released as soon as its new
    one exists, so only one column is held twice at a time (not the whole table).
    """
    idx = np.asarray(idx)
    if idx.dtype == bool:  # a mask selects faster than the index it would make
        for f in fields(table):
            setattr(table, f.name, getattr(table, f.name)[idx])
        return
    idx = idx.astype(np.intp, copy=False)  # take() would convert an int32 index per column
    for f in fields(table):
        setattr(table, f.name, getattr(table, f.name).take(idx))


@dataclass
class Persons:
    """Columnar person table.

    Attributes:
        age: Age in completed years.
        sex: 0 male, 1 female.
        hh: Row of the person's household in :class:`Households`.
        child: Lives with a parent (under 18, or an adult child not yet left home).
        employed: Has a job.
        workplace: Place index of the job (-1 if none).
        pid: Person id, unique among the living, keys the person's random draws. The
            starting population is numbered 0..n-1; later persons get ids derived from
            stable keys (:func:`sim.rng.derived_ids`: a newborn from its mother and the year,
            an in-migrant from the person it copies), so the same person has the same id in
            both arms of a comparison.
    """

    age: np.ndarray
    sex: np.ndarray
    hh: np.ndarray
    child: np.ndarray
    employed: np.ndarray
    workplace: np.ndarray
    pid: np.ndarray

    def __len__(self) -> int:
        return len(self.age)

    def take(self, idx: np.ndarray) -> Persons:
        """Rows ``idx`` (index or mask) as a new table."""
        idx = _as_index(idx)
        return Persons(*(getattr(self, f.name).take(idx) for f in fields(self)))

    def extend(self, other: Persons) -> None:
        """Append the rows of ``other``."""
        for f in fields(self):
            setattr(self, f.name, np.concatenate([getattr(self, f.name), getattr(other, f.name)]))

    def take_extend(self, rows: np.ndarray, other: Persons) -> None:
        """Keep rows ``rows`` (an index) and append ``other``, one column at a time.

        The same as ``take(rows)`` then ``extend(other)``, with one new array per column
        instead of two (and only one column held twice at a time).
        """
        k = len(rows)
        if k and (rows.min() < 0 or rows.max() >= len(self)):
            raise IndexError(f"rows out of range for a table of {len(self)} persons")
        for f in fields(self):
            col, more = getattr(self, f.name), getattr(other, f.name)
            out = np.empty(k + len(more), np.result_type(col, more))
            # mode="clip" (the rows are checked above): with the default mode, take() writes
            # into a buffer first and copies it to ``out``, 2-3x slower
            np.take(col, rows, out=out[:k], mode="clip")
            out[k:] = more
            setattr(self, f.name, out)

    @staticmethod
    def empty() -> Persons:
        """Table with no rows and the canonical dtypes."""
        return Persons(np.zeros(0, np.int16), np.zeros(0, np.int8), np.zeros(0, np.int32),
                       np.zeros(0, bool), np.zeros(0, bool), np.zeros(0, np.int32),
                       np.zeros(0, np.int64))


@dataclass
class Households:
    """Columnar household table (one row per household agent).

    Attributes:
        place: Place index where the household lives.
        hid: Household identifier, unique among the households of the run (not ordered):
            0..H-1 at the start, then derived from the founder (:func:`sim.rng.derived_ids`).
        car: Owns at least one car.
        renter: Rents (else owns) its dwelling.
        years: Years at the current address.
        housed: Occupies a dwelling (False only for a just-formed household looking for one).
        key: Person id of the founding member: keys the household's random draws, so a
            household draws the same numbers in every scenario run with the same seed.
    """

    place: np.ndarray
    hid: np.ndarray
    car: np.ndarray
    renter: np.ndarray
    years: np.ndarray
    housed: np.ndarray
    key: np.ndarray

    def __len__(self) -> int:
        return len(self.place)

    def take(self, idx: np.ndarray) -> Households:
        """Rows ``idx`` (index or mask) as a new table."""
        idx = _as_index(idx)
        return Households(*(getattr(self, f.name).take(idx) for f in fields(self)))

    def extend(self, other: Households) -> None:
        """Append the rows of ``other``."""
        for f in fields(self):
            setattr(self, f.name, np.concatenate([getattr(self, f.name), getattr(other, f.name)]))


@dataclass
class Population:
    """Households and persons of a run, kept consistent by :meth:`compact`."""

    households: Households
    persons: Persons

    def size(self) -> np.ndarray:
        """Members per household."""
        return np.bincount(self.persons.hh, minlength=len(self.households))

    def pack(self) -> PackedPopulation:
        """Every column compressed (zlib level 1): a copy that :meth:`restore` brings back.

        At 1:1 the starting tables (42 MB) pack into about 8 MB; the spin-up keeps this
        instead of a second population while it steps the run's own.
        """
        cols = []
        for table in ("households", "persons"):
            t = getattr(self, table)
            for f in fields(t):
                a = np.ascontiguousarray(getattr(t, f.name))
                cols.append((table, f.name, a.dtype, a.shape, zlib.compress(a, 1)))
        return PackedPopulation(tuple(cols))

    def restore(self, packed: PackedPopulation) -> None:
        """Replace every column by its packed copy (:meth:`pack`), bit for bit."""
        for table, name, dtype, shape, data in packed.columns:
            col = np.frombuffer(zlib.decompress(data), dtype).reshape(shape).copy()
            setattr(getattr(self, table), name, col)

    def n_minors(self) -> np.ndarray:
        """Members under 18 per household."""
        p = self.persons
        return np.bincount(p.hh[p.age < 18], minlength=len(self.households))

    def head_age(self) -> np.ndarray:
        """Age of the oldest member who is not a child at home (oldest member if none)."""
        p = self.persons
        return kernels.head_age(p.hh, p.age, p.child, len(self.households))

    def workers(self) -> np.ndarray:
        """Employed members per household."""
        p = self.persons
        return np.bincount(p.hh[p.employed], minlength=len(self.households))

    def stage(self) -> np.ndarray:
        """Life stage per household: young (<30), family (minors), adult, senior (65+)."""
        return stage_of(self.head_age(), self.n_minors())

    def place_persons(self, n_places: int) -> np.ndarray:
        """Persons per place."""
        p = self.persons
        return kernels.place_group_counts(self.households.place, p.hh,
                                          np.zeros(len(p), np.int8), n_places, 1)[:, 0]

    def compact(self, keep_person: np.ndarray, extra: Persons | None = None) -> np.ndarray:
        """Drop persons not in ``keep_person`` and households left empty; remap rows.

        ``extra`` persons (rows of existing households, e.g. newborns) are appended first
        (and kept): the same as ``persons.extend(extra)`` before the compaction, with one
        copy of the table fewer.

        Returns:
            The new row of every old household row (-1 for a household removed).
        """
        keep = np.asarray(keep_person)
        if keep.dtype != bool:  # rows in a given order: kept in that order
            _keep_rows(self.persons, keep)
            keep = np.ones(len(self.persons), bool)
        hh = self.persons.hh
        if extra is not None:
            keep = np.concatenate([keep, np.ones(len(extra), bool)])
            hh = np.concatenate([hh, extra.hh])
        rows, alive, new_index = kernels.compact_rows(keep, hh, len(self.households))
        del hh
        if extra is not None:
            # one conversion to the index type, not one inside take() per column
            kept = rows[:len(rows) - len(extra)].astype(np.intp)
            del rows
            self.persons.take_extend(kept, extra)
            del kept
        elif len(rows) < len(keep):
            del rows
            _keep_rows(self.persons, keep)  # the rows kept are those of the mask
        else:
            del rows
        del keep, keep_person
        if not alive.all():
            _keep_rows(self.households, alive)
        self.persons.hh = kernels.gather(new_index, self.persons.hh)
        return new_index

    def claim_hids(self, candidates: np.ndarray) -> np.ndarray:
        """Household ids for new households: ``candidates`` (derived ids), made unique.

        A candidate that repeats a current household's id (or another candidate) is rehashed
        (:func:`sim.rng.unique_ids`; about 2**-63 per pair).
        """
        return unique_ids(candidates, self.households.hid)

    def claim_pids(self, candidates: np.ndarray) -> np.ndarray:
        """Person ids for new persons: ``candidates`` (derived ids), made unique.

        See :meth:`claim_hids`; the check is against the persons of the table.
        """
        return unique_ids(candidates, self.persons.pid)

    def rows_of(self, hid: np.ndarray) -> np.ndarray:
        """Row of each household id (-1 where no household has it)."""
        hid = np.asarray(hid, np.int64)
        own = self.households.hid
        if len(own) == 0:
            return np.full(len(hid), -1, np.int64)
        order = np.argsort(own, kind="stable")
        pos = np.minimum(np.searchsorted(own[order], hid), len(own) - 1)
        rows = order[pos]
        return np.where(own[rows] == hid, rows, -1)

    def view(self, row: int) -> Household:
        """Readable view of household ``row``."""
        return Household(self, row)


@dataclass(frozen=True)
class PackedPopulation:
    """The columns of a population, compressed (:meth:`Population.pack`).

    Attributes:
        columns: (table, column, dtype, shape, zlib bytes) per column.
    """

    columns: tuple[tuple[str, str, np.dtype, tuple[int, ...], bytes], ...]


def stage_of(head_age: np.ndarray, minors: np.ndarray) -> np.ndarray:
    """Life stage from the head's age and the number of members under 18."""
    st = np.where(head_age < 30, YOUNG, np.where(head_age >= 65, SENIOR, ADULT))
    return np.where(minors > 0, FAMILY, st).astype(np.int8)


class Household:
    """Read-only view of one household agent (for inspection and tests, not for stepping)."""

    def __init__(self, pop: Population, row: int) -> None:
        self._pop = pop
        self.row = row

    @property
    def members(self) -> np.ndarray:
        """Person rows of the members."""
        return np.flatnonzero(self._pop.persons.hh == self.row)

    @property
    def hid(self) -> int:
        """Household identifier."""
        return int(self._pop.households.hid[self.row])

    @property
    def place(self) -> int:
        """Place index."""
        return int(self._pop.households.place[self.row])

    @property
    def ages(self) -> list[int]:
        """Members' ages, oldest first."""
        return sorted(self._pop.persons.age[self.members].tolist(), reverse=True)

    @property
    def sexes(self) -> list[str]:
        """Members' sexes ('m'/'f') in member order."""
        return ["mf"[s] for s in self._pop.persons.sex[self.members]]

    @property
    def stage(self) -> str:
        """Life stage name."""
        return STAGES[int(self._pop.stage()[self.row])]

    def __repr__(self) -> str:
        h = self._pop.households
        return (f"Household(hid={self.hid}, place={self.place}, ages={self.ages}, "
                f"car={bool(h.car[self.row])}, renter={bool(h.renter[self.row])}, "
                f"years={int(h.years[self.row])}, stage={self.stage})")
