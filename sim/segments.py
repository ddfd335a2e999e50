"""Segments: the groups of households that share one systematic utility per place.

A household's segment combines its attributes on a few **axes**: life stage (young, family,
adult, senior), whether it has a car, whether a member works and, when some utility term
needs it, its tenure (owner or renter). Every household of a segment values a place the
same, so the relocation rule computes one utility row per segment. :class:`Segments` owns
the axes, the order of segments and their names; code selects segments by attribute
(``segments.select(car=False)``) and never by index arithmetic.

Axes in use are those the model needs (stage, car, worker) plus those the active utility
terms name in ``applies_to`` (tenure). With the default terms there are 16 segments in the
order stage, car, worker (the last axis varies fastest).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import product

import numpy as np

from .params import STAGES


@dataclass(frozen=True)
class Axis:
    """One attribute of households that segments distinguish.

    Attributes:
        name: Attribute name, e.g. ``"car"``.
        labels: Names of the values (index = the value's code).
        values: Python values callers use in criteria (``True``/``False`` for flags).
    """

    name: str
    labels: tuple[str, ...]
    values: tuple[object, ...]

    def code(self, value: object) -> int:
        """Code of ``value`` (a Python value or a label) on this axis."""
        if isinstance(value, str) and value in self.labels:
            return self.labels.index(value)
        for i, v in enumerate(self.values):
            if v == value and type(v) is type(value):
                return i
        raise ValueError(f"segment axis {self.name!r} has values {list(self.labels)}, "
                         f"not {value!r}")


STAGE = Axis("stage", STAGES, STAGES)
CAR = Axis("car", ("no car", "car"), (False, True))
WORKER = Axis("worker", ("no worker", "worker"), (False, True))
TENURE = Axis("tenure", ("owner", "renter"), ("owner", "renter"))
#: Every axis a term may name, in segment order.
AXES: dict[str, Axis] = {a.name: a for a in (STAGE, CAR, WORKER, TENURE)}
#: Axes always present (distance decay and move rates are per stage; job access by car).
CORE_AXES = ("stage", "car", "worker")
#: Criterion names that are shorthands over an axis.
ALIASES = {"children": ("stage", "family")}


class Segments:
    """The segments of a run: axes, order, names and selections.

    Args:
        extra_axes: Names of optional axes to add to :data:`CORE_AXES` (e.g. ``"tenure"``).
    """

    def __init__(self, extra_axes: Iterable[str] = ()) -> None:
        names = list(CORE_AXES)
        for a in extra_axes:
            if a not in AXES:
                raise ValueError(f"unknown segment axis {a!r}; known: {', '.join(AXES)}")
            if a not in names:
                names.append(a)
        self.axes: tuple[Axis, ...] = tuple(AXES[a] for a in AXES if a in names)
        self.sizes = tuple(len(a.labels) for a in self.axes)
        self.n = int(np.prod(self.sizes))
        grid = np.array(list(product(*(range(s) for s in self.sizes))), np.int64)
        #: Code of each segment on each axis, shape (n, n_axes).
        self.codes = grid.reshape(self.n, len(self.axes))
        self._strides = np.array([int(np.prod(self.sizes[i + 1:]))
                                  for i in range(len(self.axes))], np.int64)

    @classmethod
    def for_terms(cls, criteria: Iterable[Mapping[str, object]]) -> Segments:
        """Segments with every axis that one of the ``criteria`` names (plus the core)."""
        extra = []
        for c in criteria:
            for key in c:
                axis = ALIASES.get(key, (key,))[0]
                if axis not in AXES:
                    raise ValueError(f"unknown household attribute {key!r}; known: "
                                     f"{', '.join([*AXES, *ALIASES])}")
                extra.append(axis)
        return cls(extra)

    @property
    def names(self) -> list[str]:
        """Readable name per segment, e.g. ``"family, car, worker"``."""
        return [", ".join(a.labels[c] for a, c in zip(self.axes, row, strict=True))
                for row in self.codes]

    def has(self, axis: str) -> bool:
        """Whether the segments distinguish ``axis``."""
        return any(a.name == axis for a in self.axes)

    def attribute(self, axis: str) -> np.ndarray:
        """Code of every segment on ``axis`` (e.g. the stage of each segment)."""
        return self.codes[:, self._axis_index(axis)]

    def value(self, axis: str, segment: int) -> object:
        """The Python value of ``segment`` on ``axis`` (e.g. ``True`` for car)."""
        i = self._axis_index(axis)
        return self.axes[i].values[self.codes[segment, i]]

    @property
    def stage(self) -> np.ndarray:
        """Stage index of every segment."""
        return self.attribute("stage")

    def mask(self, **criteria: object) -> np.ndarray:
        """Segments matching every criterion, e.g. ``mask(car=False, stage="family")``.

        A criterion's value is one value or a list of values of the axis; ``children=True``
        means the family stage. A criterion on an axis these segments do not distinguish is
        an error (build the segments with :meth:`for_terms`).
        """
        ok = np.ones(self.n, bool)
        for key, value in criteria.items():
            if key in ALIASES:
                axis, label = ALIASES[key]
                hit = self.attribute(axis) == AXES[axis].code(label)
                ok &= hit if value else ~hit
                continue
            axis = AXES.get(key)
            if axis is None:
                raise ValueError(f"unknown household attribute {key!r}; known: "
                                 f"{', '.join([*AXES, *ALIASES])}")
            wanted = value if isinstance(value, list | tuple | set) else [value]
            codes = [axis.code(v) for v in wanted]
            ok &= np.isin(self.attribute(key), codes)
        return ok

    def select(self, **criteria: object) -> np.ndarray:
        """Indices of the segments matching ``criteria`` (see :meth:`mask`)."""
        return np.flatnonzero(self.mask(**criteria))

    def counterpart(self, segs: np.ndarray, **changes: object) -> np.ndarray:
        """The segments equal to ``segs`` except for the ``changes`` (e.g. ``car=True``)."""
        out = np.asarray(segs, np.int64).copy()
        for key, value in changes.items():
            i = self._axis_index(key)
            new = AXES[key].code(value)
            out += (new - self.codes[out, i]) * self._strides[i]
        return out

    def of(self, *, stage: np.ndarray, car: np.ndarray, worker: np.ndarray,
           tenure: np.ndarray | None = None) -> np.ndarray:
        """Segment index per household from its attributes (tenure: True = renter)."""
        attrs = {"stage": stage, "car": car, "worker": worker, "tenure": tenure}
        out = np.zeros(len(stage), np.int64)
        for i, a in enumerate(self.axes):
            v = attrs[a.name]
            if v is None:
                raise ValueError(f"segments need the households' {a.name}")
            out += np.asarray(v).astype(np.int64) * self._strides[i]
        return out.astype(np.int16)

    def _axis_index(self, axis: str) -> int:
        for i, a in enumerate(self.axes):
            if a.name == axis:
                return i
        raise ValueError(f"these segments do not distinguish {axis!r} (axes: "
                         f"{', '.join(a.name for a in self.axes)})")

    def __repr__(self) -> str:
        return f"Segments({', '.join(a.name for a in self.axes)}; {self.n} segments)"
