"""The inputs shipped with landsim and their explicit overrides.

Two inputs ship as package data: the data tables (the repository's ``data/``, installed as
``sim/_data/``) and the calibrated parameters (``calibration/params.toml``, installed as
``sim/_calibration/params.toml``); both are found with :mod:`importlib.resources`. In a source
checkout or an editable install the package holds no copy, and the repository's folders are
read, so a file changed there (for example by ``landsim calibrate``) is what the next run
reads.

Each input can be replaced explicitly, by an environment variable or by a command-line option
(the option wins). Which copy a run used and how it was chosen (:class:`Choice`) goes into
its manifest. This module imports nothing heavy: ``sim.cli`` uses it to parse options.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

#: ``chosen_by`` of an input nobody overrode: the copy shipped with the package.
PACKAGE = "package"
#: The value that selects "no file" for inputs that allow it (the calibrated parameters).
NONE = "none"

_REPOSITORY = Path(__file__).resolve().parent.parent


def packaged(name: str, repository_folder: str) -> Path:
    """The shipped copy of an input folder.

    Args:
        name: Folder inside the installed package (``_data``, ``_calibration``).
        repository_folder: The same folder in the repository (``data``, ``calibration``),
            read when the package holds no copy (source checkout, editable install).
    """
    res = resources.files(__package__) / name
    if isinstance(res, Path) and res.is_dir():
        return res
    return _REPOSITORY / repository_folder


@dataclass(frozen=True)
class Choice:
    """The input a run uses and how it was chosen.

    Attributes:
        path: The folder or file; None for an explicit ``none`` (no calibrated file) or when
            nothing is shipped.
        chosen_by: ``package`` (the shipped copy), the environment variable's name, or the
            command-line option.
    """

    path: Path | None
    chosen_by: str

    def record(self) -> dict[str, str | None]:
        """JSON-ready ``{"path": ..., "chosen_by": ...}`` for manifests."""
        return {"path": None if self.path is None else str(self.path),
                "chosen_by": self.chosen_by}


class Input:
    """One shipped input that an environment variable or a command-line option replaces.

    Precedence: the option (inside :meth:`chosen`), then the environment variable, then the
    shipped copy.

    Args:
        env: Name of the environment variable.
        option: Name of the command-line option (recorded as ``chosen_by``).
        default: Returns the shipped copy (None if there is none).
        allow_none: Whether ``none`` (any case) selects no file.
    """

    def __init__(self, env: str, option: str, default: Callable[[], Path | None],
                 allow_none: bool = False) -> None:
        self.env = env
        self.option = option
        self._default = default
        self._allow_none = allow_none
        self._chosen: Choice | None = None

    def _parse(self, value: str | os.PathLike[str]) -> Path | None:
        if self._allow_none and str(value).lower() == NONE:
            return None
        return Path(value).expanduser().resolve()

    def current(self) -> Choice:
        """The input in use now."""
        if self._chosen is not None:
            return self._chosen
        value = os.environ.get(self.env)
        if value:
            return Choice(self._parse(value), self.env)
        return Choice(self._default(), PACKAGE)

    @contextmanager
    def chosen(self, value: str | os.PathLike[str] | None) -> Iterator[Choice]:
        """Use ``value`` (the command-line option) inside the block; None changes nothing.

        The choice is also exported through the environment variable, so that worker
        processes started inside the block (``compare --jobs``, a local Dask cluster) read
        the same input. Both are restored on leaving.
        """
        if value is None:
            yield self.current()
            return
        choice = Choice(self._parse(value), self.option)
        previous, env_before = self._chosen, os.environ.get(self.env)
        self._chosen = choice
        os.environ[self.env] = NONE if choice.path is None else str(choice.path)
        try:
            yield choice
        finally:
            self._chosen = previous
            if env_before is None:
                os.environ.pop(self.env, None)
            else:
                os.environ[self.env] = env_before


#: The data tables: ``landsim --data DIR``, ``$LANDSIM_DATA`` or the shipped ``data/``.
DATA = Input("LANDSIM_DATA", "--data", lambda: packaged("_data", "data"))

#: File name of the calibrated parameters (in ``calibration/``).
CALIBRATED_NAME = "params.toml"


def _shipped_calibration() -> Path | None:
    path = packaged("_calibration", "calibration") / CALIBRATED_NAME
    return path if path.is_file() else None


#: The calibrated parameter file: ``landsim --calibration FILE|none``,
#: ``$LANDSIM_CALIBRATION`` or the shipped ``calibration/params.toml`` (none if absent).
CALIBRATION = Input("LANDSIM_CALIBRATION", "--calibration", _shipped_calibration,
                    allow_none=True)
