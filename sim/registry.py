"""Registries of plugins (initiative kinds, trend kinds, utility terms), found by name.

A registry maps names to plugin objects. Plugins register themselves when their module is
imported (``@register_initiative("name")`` and friends) or are found through a Python entry
point, so a university's own package adds kinds without editing landsim::

    # in that package's pyproject.toml
    [project.entry-points."landsim.initiatives"]
    au = "au_landsim"          # a module whose import registers its kinds

Entry points of a registry's group are imported on the registry's first lookup. A name used
twice is an error (:class:`RegistryError`), never a silent replacement; registering the very
same object again (a module imported twice) is allowed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class RegistryError(ValueError):
    """A plugin name is used twice, or a plugin package cannot be loaded."""


class Registry(Mapping[str, T], Generic[T]):
    """Name -> plugin, with entry-point discovery and loud clashes.

    Args:
        noun: What the plugins are, for messages ("initiative kind").
        group: Entry-point group searched on first lookup ("landsim.initiatives").
    """

    def __init__(self, noun: str, group: str) -> None:
        self.noun = noun
        self.group = group
        self._items: dict[str, T] = {}
        self._loaded = False

    def register(self, name: str, obj: T) -> T:
        """Add ``obj`` under ``name``; a different object under a used name is an error."""
        old = self._items.get(name)
        if old is not None and old is not obj and _qualname(old) != _qualname(obj):
            raise RegistryError(
                f"{self.noun} {name!r} is registered twice ({_qualname(old)} and "
                f"{_qualname(obj)}); give one of them another name (e.g. with a prefix of "
                "your own)")
        self._items[name] = obj
        return obj

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for tests and notebooks that redefine a plugin)."""
        self._items.pop(name, None)

    def load_entry_points(self) -> None:
        """Import every module registered under this registry's entry-point group (once)."""
        if self._loaded:
            return
        self._loaded = True
        for ep in entry_points(group=self.group):
            try:
                ep.load()
            except RegistryError:
                raise
            except Exception as e:  # a broken plugin names itself, never a bare traceback
                raise RegistryError(f"plugin {ep.name!r} ({ep.value}) of entry-point group "
                                    f"{self.group!r} failed to load: {e}; fix or uninstall "
                                    "that package") from e
            log.debug("loaded %s plugin %s (%s)", self.noun, ep.name, ep.value)

    @contextmanager
    def scratch(self) -> Iterator[Registry[T]]:
        """Within the block, registrations are temporary (restored on exit)."""
        saved = dict(self._items)
        try:
            yield self
        finally:
            self._items.clear()
            self._items.update(saved)

    # -- Mapping ------------------------------------------------------------------------
    def __getitem__(self, name: str) -> T:
        self.load_entry_points()
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        self.load_entry_points()
        return iter(self._items)

    def __len__(self) -> int:
        self.load_entry_points()
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        self.load_entry_points()
        return name in self._items

    def __repr__(self) -> str:
        return f"Registry({self.noun!r}, {sorted(self._items)})"


def _qualname(obj: object) -> str:
    # utility terms and report figures wrap their function
    target = getattr(obj, "func", None) or getattr(obj, "make", None) or obj
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"
