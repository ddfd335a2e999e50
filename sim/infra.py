"""Shared infrastructure: one way in for user files, strict models, error lines, paths, writes.

Every file a user hands to landsim (scenario, experiment, parameter and calibration files,
report manifests, the data refresh's provenance) is read by :func:`read_text`,
:func:`read_toml` or :func:`read_json`. They accept UTF-8 with or without a byte-order mark
and refuse, with one line ``FILE: what is wrong; how to fix it`` (:class:`InputFileError`)
and without reading more than they must:

* a missing path, a folder, a device, a pipe or a socket (checked with :func:`os.stat`
  before the file is opened, and again on the open file, so ``/dev/zero`` is never read);
* a file larger than ``max_bytes`` (:data:`MAX_CONFIG_BYTES`, 1 MiB, for configuration
  files; never more than ``max_bytes + 1`` bytes are read);
* a file that cannot be read (permissions);
* text saved as UTF-16 or UTF-32 (detected by byte-order mark or by the pattern of NUL
  bytes) or in another encoding such as Latin-1 / Windows-1252, with the fix "save it as
  UTF-8"; binary files (NUL bytes that are not UTF-16/32, or mostly control bytes);
* TOML or JSON syntax errors, numbers too long to convert, and tables or arrays nested more
  than :data:`MAX_DEPTH` levels deep (the parsers and pydantic recurse on nesting).

The rest of the module: :class:`StrictModel` / :class:`FrozenModel`, the pydantic bases of
every file schema (unknown keys rejected); :func:`format_errors`, pydantic's errors as one
line per problem; the dotted-path grammar of parameter and factor names
(:func:`split_path`, :func:`get_path`, :func:`set_path`, :func:`dotted_to_nested`,
:func:`deep_merge`); :func:`atomic_write`, :func:`atomic_file` and :func:`atomic_dir`, which
never leave a half-written file or folder under its final name; and :func:`exclusive_lock`,
a lock file held by the operating system for as long as the process lives.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import json
import os
import re
import reprlib
import shutil
import stat
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

#: Largest configuration file read (scenario, experiment, parameter, calibration files):
#: 1 MiB. The shipped ones are under 5 KiB; a larger file is almost surely the wrong file.
MAX_CONFIG_BYTES = 1 << 20
#: Largest JSON manifest or provenance file read (they hold resolved scenarios): 64 MiB.
MAX_MANIFEST_BYTES = 64 << 20
#: Deepest nesting of tables and arrays accepted in a configuration file. The schemas need
#: at most 5 levels (``initiatives[1].target.min_km_to.grocer``); deeper documents make
#: tomllib, pydantic and the merge code recurse towards Python's recursion limit.
MAX_DEPTH = 32
#: Suffix of the temporary files of :func:`atomic_file` (``.NAME.XXXX.tmp`` next to NAME).
TMP_SUFFIX = ".tmp"


class InputFileError(ValueError):
    """A file given to landsim cannot be used: one line, ``FILE: what is wrong; the fix``.

    Attributes:
        path: The file.
        problem: What is wrong.
        fix: How to fix it.
    """

    def __init__(self, path: str | Path, problem: str, fix: str) -> None:
        super().__init__(f"{path}: {problem}; {fix}")
        self.path, self.problem, self.fix = Path(path), problem, fix


# --------------------------------------------------------------------------- reading
def _limit(n: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor and n % factor == 0:
            return f"{n:,} bytes ({n // factor} {unit})"
    return f"{n:,} bytes"


def _not_regular(mode: int) -> str | None:
    """What a non-regular file is, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a regular file"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a regular file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a regular file"
    return "not a regular file"


def _os_problem(e: OSError) -> str:
    if isinstance(e, FileNotFoundError) or e.errno in (errno.ENOENT, errno.ENOTDIR):
        return "file not found"
    if isinstance(e, PermissionError):
        return "cannot be read (permission denied)"
    if isinstance(e, IsADirectoryError):
        return "a folder, not a file"
    return f"cannot be read ({e.strerror or type(e).__name__})"


def read_bytes(path: str | Path, *, what: str, max_bytes: int = MAX_CONFIG_BYTES,
               fix: str | None = None) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` bytes.

    The path is checked with :func:`os.stat` before it is opened (folders, devices, pipes
    and sockets are refused unopened) and the open file again with :func:`os.fstat`; at
    most ``max_bytes + 1`` bytes are read.

    Args:
        path: The file.
        what: The kind of file, for messages (``"scenario file"``).
        max_bytes: Size limit.
        fix: What to do when the path is not a usable file (default: "give the path of a
            WHAT").

    Raises:
        InputFileError: Missing, not a regular file, unreadable or too large.
    """
    p = Path(path)
    fix = fix or f"give the path of a {what}"
    try:
        st = os.stat(p)
    except (OSError, ValueError) as e:  # ValueError: a NUL in the path
        problem = _os_problem(e) if isinstance(e, OSError) else "not a valid path"
        raise InputFileError(p, problem, fix) from None
    kind = _not_regular(st.st_mode)
    if kind is not None:
        raise InputFileError(p, kind, fix)
    if st.st_size > max_bytes:
        raise InputFileError(p, f"{st.st_size:,} bytes, more than the {_limit(max_bytes)} a "
                             f"{what} may have", f"check that this is the {what} you meant")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(p, flags)
    except OSError as e:
        raise InputFileError(p, _os_problem(e), "check the file's permissions"
                             if isinstance(e, PermissionError) else fix) from None
    try:
        kind = _not_regular(os.fstat(fd).st_mode)  # replaced between stat and open
        if kind is not None:
            raise InputFileError(p, kind, fix)
        chunks, n = [], 0
        while n <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - n))
            if not chunk:
                break
            chunks.append(chunk)
            n += len(chunk)
    except OSError as e:
        raise InputFileError(p, _os_problem(e), fix) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise InputFileError(p, f"more than the {_limit(max_bytes)} a {what} may have",
                             f"check that this is the {what} you meant")
    return data


_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32 (little-endian, with a byte-order mark)"),
         (codecs.BOM_UTF32_BE, "UTF-32 (big-endian, with a byte-order mark)"),
         (codecs.BOM_UTF16_LE, "UTF-16 (little-endian, with a byte-order mark)"),
         (codecs.BOM_UTF16_BE, "UTF-16 (big-endian, with a byte-order mark)"))
#: Bytes that do not occur in text (C0 controls other than tab, newline, form feed, CR).
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"


def _wide_encoding(data: bytes) -> str | None:
    """UTF-16/UTF-32 without a byte-order mark, recognised by where the NUL bytes are."""
    sample = data[:4096]
    if len(sample) >= 8:
        sample4 = sample[: len(sample) - len(sample) % 4]
        zero = [sample4[i::4].count(0) / len(sample4[i::4]) for i in range(4)]
        if min(zero[1:]) > 0.9 and zero[0] < 0.5:
            return "utf-32-le"
        if min(zero[:3]) > 0.9 and zero[3] < 0.5:
            return "utf-32-be"
    if len(sample) >= 2:
        sample2 = sample[: len(sample) - len(sample) % 2]
        even, odd = sample2[0::2].count(0) * 2 / len(sample2), \
            sample2[1::2].count(0) * 2 / len(sample2)
        if odd > 0.6 and even < 0.2:
            return "utf-16-le"
        if even > 0.6 and odd < 0.2:
            return "utf-16-be"
    return None


_WIDE_NAMES = {"utf-32-le": "UTF-32 (little-endian)", "utf-32-be": "UTF-32 (big-endian)",
               "utf-16-le": "UTF-16 (little-endian)", "utf-16-be": "UTF-16 (big-endian)"}


def decode_text(data: bytes, path: str | Path, *, what: str) -> str:
    """``data`` as text: UTF-8, with or without a byte-order mark.

    Raises:
        InputFileError: UTF-16/UTF-32, another encoding, or binary data.
    """
    save = "save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)"
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise InputFileError(path, f"the {what} is saved as {name}", save)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    if b"\x00" in data:
        wide = _wide_encoding(data)
        if wide is not None:
            try:
                data.decode(wide)
            except UnicodeDecodeError:
                wide = None
        if wide is not None:
            raise InputFileError(path, f"the {what} is saved as {_WIDE_NAMES[wide]}", save)
        raise InputFileError(path, f"a binary file (it contains NUL bytes), not a text {what}",
                             f"give the path of a {what}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        controls = sum(data.count(bytes([b])) for b in _CONTROL)
        if controls > 0.05 * len(data):
            raise InputFileError(path, f"a binary file, not a text {what}",
                                 f"give the path of a {what}") from None
        line = data.count(b"\n", 0, e.start) + 1
        where = f"byte 0x{data[e.start]:02X} on line {line}"
        high = sum(1 for b in data if b >= 0x80)
        try:
            data.decode("cp1252")
            guess = "; it looks like Latin-1 / Windows-1252" if high < 0.3 * len(data) else ""
        except UnicodeDecodeError:
            guess = ""
        raise InputFileError(path, f"the {what} is not UTF-8 ({where}{guess})", save) \
            from None


def read_text(path: str | Path, *, what: str, max_bytes: int = MAX_CONFIG_BYTES,
              fix: str | None = None) -> str:
    """The text of a user's file (see the module docstring for what is refused).

    Args:
        path: The file.
        what: The kind of file, for messages (``"scenario file"``).
        max_bytes: Size limit.
        fix: What to do when the path is not a usable file.

    Raises:
        InputFileError: One line naming the file, the problem and the fix.
    """
    return decode_text(read_bytes(path, what=what, max_bytes=max_bytes, fix=fix), path,
                       what=what)


def nesting_depth(obj: Any) -> int:
    """Depth of nested dicts and lists (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(obj, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((c, depth + 1) for c in children)
    return deepest


def _too_deep(path: str | Path, fix: str) -> InputFileError:
    return InputFileError(path, f"tables and arrays are nested more than {MAX_DEPTH} levels "
                          "deep", fix)


_TOML_DEEP = "landsim's files nest at most 5 levels: check the brackets"


def _parse_problem(kind: str, e: ValueError) -> str:
    """The reason a parser gave, in a user's words (a too long number is named as such)."""
    if "Exceeds the limit" in str(e) and "digits" in str(e):
        return (f"not valid {kind} (a number has more than {sys.get_int_max_str_digits():,} "
                "digits)")
    return f"not valid {kind} ({e})"


#: Tokens of TOML that matter for the length of dotted keys: comments and multi-line strings
#: (never keys), single-line strings and bare words (key parts), dots, white space, and any
#: other character (which ends a key).
_TOKENS = re.compile(r'#[^\n]*|"""[\s\S]*?(?:"""|\Z)|\'\'\'[\s\S]*?(?:\'\'\'|\Z)'
                     r'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|[A-Za-z0-9_\-]+|[ \t]+|\.|[\s\S]')


def _longest_dotted_key(text: str, limit: int) -> int:
    """Dots in the longest dotted key of a TOML text, counting up to ``limit`` + 1.

    tomllib needs memory quadratic in the parts of one dotted key (a 40 KB key of 20,000
    parts takes 1.5 GB), so keys are measured before it parses: a linear scan that skips
    comments and strings.
    """
    if text.count(".") <= limit:
        return 0
    dots = longest = 0
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok == ".":
            dots += 1
            if dots > longest:
                longest = dots
                if longest > limit:
                    break
        elif tok.startswith(('"""', "'''")) or not (
                tok[0] in "\"'_- \t" or tok[0].isalnum()):
            dots = 0  # a multi-line string, a comment or a character that ends a key
    return longest


def read_toml(path: str | Path, *, what: str, max_bytes: int = MAX_CONFIG_BYTES,
              fix: str | None = None) -> dict[str, Any]:
    """The table of a user's TOML file.

    Raises:
        InputFileError: See :func:`read_text`; also a syntax error (with its line and
            column), a number too long to convert, or nesting deeper than :data:`MAX_DEPTH`.
    """
    text = read_text(path, what=what, max_bytes=max_bytes, fix=fix)
    if _longest_dotted_key(text, MAX_DEPTH) >= MAX_DEPTH:  # more than MAX_DEPTH parts
        raise _too_deep(path, _TOML_DEEP)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputFileError(path, f"not valid TOML ({e})", "fix the syntax") from None
    except RecursionError:
        raise _too_deep(path, _TOML_DEEP) from None
    except ValueError as e:  # e.g. an integer of more than 4,300 digits
        raise InputFileError(path, _parse_problem("TOML", e), "fix the value") from None
    if nesting_depth(raw) > MAX_DEPTH:
        raise _too_deep(path, _TOML_DEEP)
    return raw


def read_json(path: str | Path, *, what: str, max_bytes: int = MAX_MANIFEST_BYTES,
              fix: str | None = None) -> Any:
    """The value of a JSON file (a manifest, a provenance record).

    Raises:
        InputFileError: See :func:`read_text`; also invalid JSON or nesting deeper than
            :data:`MAX_DEPTH`.
    """
    text = read_text(path, what=what, max_bytes=max_bytes, fix=fix)
    damaged = fix or "the file looks damaged; write it again"
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep(path, damaged) from None
    except ValueError as e:
        raise InputFileError(path, _parse_problem("JSON", e), damaged) from None
    if nesting_depth(value) > MAX_DEPTH:
        raise _too_deep(path, damaged)
    return value


# --------------------------------------------------------------------------- models
class StrictModel(BaseModel):
    """Base of every file schema: unknown keys are errors, so a misspelling never passes."""

    model_config = ConfigDict(extra="forbid")


class FrozenModel(StrictModel):
    """A :class:`StrictModel` whose instances cannot be changed (parameters, configuration)."""

    model_config = ConfigDict(frozen=True)


class _Short(reprlib.Repr):
    """Short, one-line reprs of user values (huge numbers and strings abbreviated)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxlist, self.maxtuple, self.maxdict = 3, 6, 6, 4
        self.maxstring, self.maxother, self.maxlong = 60, 60, 40

    def repr_int(self, x: int, level: int) -> str:
        try:
            return super().repr_int(x, level)
        except ValueError:  # more digits than int -> str converts
            return f"<an integer of about {int(x.bit_length() * 0.30103):,} digits>"


_short = _Short()


def show_value(value: Any) -> str:
    """A short one-line repr of a value from a user's file (for messages)."""
    try:
        text = _short.repr(value)
    except (ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
    return text.replace("\n", "\\n")


def format_loc(loc: tuple | list, prefix: str = "") -> str:
    """A pydantic error location as a field path: ``initiatives[2].settings.x`` (1-based)."""
    out = prefix.rstrip(".")
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        elif part == "[key]":
            out += " (key)"
        else:
            out += ("." if out else "") + str(part)
    return out


def format_errors(path: str | Path, err: ValidationError, prefix: str = "", *,
                  noun: str = "field", see: str = "") -> list[str]:
    """One line per problem of a pydantic error: file, field path, value, what is allowed.

    Args:
        path: The file (first on every line).
        err: The validation error.
        prefix: Path of the validated table in the file (``"initiatives[1].settings."``).
        noun: What a key is called in messages (``"field"``, ``"parameter"``, ``"key"``).
        see: Appended to the line of an unknown key (where the names are documented).

    Returns:
        Lines such as ``FILE: unknown field 'x'; remove it or check the spelling`` and
        ``FILE: field 'years.end' = 2200: Input should be less than or equal to 2100``.
    """
    lines = []
    for e in err.errors():
        field = format_loc(e["loc"], prefix)
        msg = " ".join(str(e["msg"]).split())
        for noise in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(noise)
        if e["type"] == "extra_forbidden":
            lines.append(f"{path}: unknown {noun} '{field}'; remove it or check the spelling"
                         f"{see}")
        elif not field:
            lines.append(f"{path}: {msg}")
        else:
            value = e.get("input")
            shown = "" if isinstance(value, dict) else f" = {show_value(value)}"
            lines.append(f"{path}: {noun} '{field}'{shown}: {msg}")
    return lines


# --------------------------------------------------------------------------- dotted paths
class PathError(ValueError):
    """A dotted path that does not follow the grammar, or clashes with another key."""


#: One part of a dotted path: a name (no dots, brackets or spaces), then 1-based indices.
_PART = re.compile(r"([^.\[\]\s]+)((?:\[[0-9]+\])*)")
_INDEX = re.compile(r"\[([0-9]+)\]")


def split_path(text: str) -> tuple[str | int, ...]:
    """The parts of a dotted path: ``"a.b[2].c"`` -> ``("a", "b", 1, "c")``.

    Grammar: names separated by dots; a name may be followed by ``[i]`` (1-based, like every
    item number in landsim's messages) to pick a list element; the indices come back
    0-based as ints. Names are any text without dots, brackets or white space (the schema
    decides which names exist).

    Raises:
        PathError: Empty parts, stray brackets or white space, or an index of 0.
    """
    if not isinstance(text, str):
        raise PathError(f"{show_value(text)} is not a dotted name")
    out: list[str | int] = []
    for part in text.split("."):
        m = _PART.fullmatch(part)
        if m is None:
            raise PathError(f"{text!r} is not a dotted name such as 'services.closure_hazard' "
                            "or 'relocation.move_rate[2]'")
        out.append(m.group(1))
        for i in _INDEX.findall(m.group(2)):
            if int(i) < 1:
                raise PathError(f"{text!r}: element numbers start at 1, not [{i}]")
            out.append(int(i) - 1)
    return tuple(out)


def join_path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """The inverse of :func:`split_path`."""
    out = ""
    for p in parts:
        out += f"[{p + 1}]" if isinstance(p, int) else ("." if out else "") + p
    return out


def _parts(path: str | tuple | list) -> tuple[str | int, ...]:
    return split_path(path) if isinstance(path, str) else tuple(path)


_MISSING: Any = object()


def get_path(d: Any, path: str | tuple | list, default: Any = _MISSING) -> Any:
    """The value at ``path`` in nested dicts and lists.

    Raises:
        KeyError: The path does not exist (and no ``default`` is given); the message names
            the first part that is missing.
    """
    parts = _parts(path)
    node = d
    for i, key in enumerate(parts):
        if isinstance(key, int):
            ok = isinstance(node, list | tuple) and 0 <= key < len(node)
        else:
            ok = isinstance(node, dict) and key in node
        if not ok:
            if default is not _MISSING:
                return default
            raise KeyError(f"'{join_path(parts[:i + 1])}' does not exist")
        node = node[key]
    return node


def set_path(d: dict, path: str | tuple | list, value: Any) -> dict:
    """Set the value at ``path`` in place (missing tables are created); returns ``d``.

    Raises:
        KeyError: A list element that does not exist, or a part that is not a table.
    """
    parts = _parts(path)
    if not parts:
        raise KeyError("empty path")
    node: Any = d
    for i, key in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(key, int):
            if not (isinstance(node, list) and 0 <= key < len(node)):
                raise KeyError(f"'{join_path(parts[:i + 1])}' does not exist")
        elif not isinstance(node, dict):
            raise KeyError(f"'{join_path(parts[:i])}' is not a table")
        elif not last and key not in node:
            node[key] = {}
        if last:
            node[key] = value
        else:
            node = node[key]
    return d


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` on top; tables present in both are merged key by key."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def dotted_to_nested(d: dict[str, Any]) -> dict[str, Any]:
    """``{"relocation.move_rate": x}`` and nested tables both become nested dicts.

    Keys follow :func:`split_path` without element numbers (a table key names a whole
    value). Two keys that set the same value (``"relocation.rounds" = 3`` and
    ``relocation.rounds = 4``, TOML's quoted and dotted keys) are an error, not a silent
    choice.

    Raises:
        PathError: A key that is not a dotted name, has an element number or more than
            :data:`MAX_DEPTH` parts, or sets a value that another key sets too.
    """
    out: dict[str, Any] = {}

    def put(node: dict[str, Any], parts: tuple[str | int, ...], value: Any,
            where: tuple[str | int, ...]) -> None:
        for i, p in enumerate(parts[:-1]):
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise PathError(f"'{join_path((*where, *parts[:i + 1]))}' is set to a value by "
                                "one key and used as a table by another; give one of them")
        last, full = parts[-1], (*where, *parts)
        if isinstance(value, dict):
            if last in node and not isinstance(node[last], dict):
                raise PathError(f"'{join_path(full)}' is set to a value by one key and used as "
                                "a table by another; give one of them")
            child = node.setdefault(last, {})
            for k, v in value.items():
                put(child, _key_parts(k), v, full)
        elif last in node:
            raise PathError(f"two keys set '{join_path(full)}' (a dotted key and a table, or "
                            "a quoted and an unquoted key); give it once")
        else:
            node[last] = value

    for key, value in d.items():
        put(out, _key_parts(key), value, ())
    return out


def _key_parts(key: str) -> tuple[str | int, ...]:
    parts = split_path(key) if "." in key or "[" in key else (key,)
    if len(parts) > MAX_DEPTH:
        raise PathError(f"key {show_value(key)} has more than {MAX_DEPTH} parts")
    if any(isinstance(p, int) for p in parts):
        raise PathError(f"key {show_value(key)}: element numbers such as [2] cannot be set "
                        "one by one here; give the whole list")
    return parts


# --------------------------------------------------------------------------- writing
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """A temporary path next to ``path``, moved onto ``path`` when the block completes.

    The temporary file (``.NAME.XXXX.tmp``) is removed on any exception, so ``path`` is
    either the old file or the complete new one, whatever happens to the process. The new
    file gets the permissions of a newly created file (``0o666`` less the umask).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically (see :func:`atomic_file`)."""
    blob = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_file(path) as tmp:
        tmp.write_bytes(blob)
    return Path(path)


@contextlib.contextmanager
def atomic_dir(final: str | Path, *, exist: Literal["error", "replace", "merge"] = "error",
               exists_hint: str = "choose another name or remove it") -> Iterator[Path]:
    """A temporary folder next to ``final``, moved into place when the block completes.

    The folder (``.NAME.partial-XXXX``) is removed on any exception, so ``final`` never
    holds a half-written result.

    Args:
        final: The folder to create.
        exist: What to do if ``final`` exists: ``"error"`` (results are never overwritten),
            ``"replace"`` (the old folder is swapped out and removed afterwards) or
            ``"merge"`` (each file of the new folder replaces its namesake in ``final``, one
            atomic move per file).
        exists_hint: The fix in the ``FileExistsError`` message.

    Raises:
        FileExistsError: ``final`` exists and ``exist`` is ``"error"``.
    """
    final = Path(final)
    if exist == "error" and final.exists():
        raise FileExistsError(f"{final} already exists; {exists_hint}")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private
        if exist == "merge" and final.is_dir():
            for f in tmp.iterdir():
                os.replace(f, final / f.name)
        elif exist == "replace" and final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
            os.replace(final, old / final.name)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            try:
                os.rename(tmp, final)
            except OSError as e:  # created meanwhile (rename onto a non-empty folder fails)
                if final.exists():
                    raise FileExistsError(f"{final} already exists; {exists_hint}") from e
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- locking
class LockedError(RuntimeError):
    """Another process holds the lock.

    Attributes:
        path: The lock file.
        pid: The process id the holder wrote into the lock file (None if unreadable).
    """

    def __init__(self, path: Path, pid: int | None) -> None:
        super().__init__(f"{path} is held by process {pid if pid is not None else '?'}")
        self.path, self.pid = path, pid


#: Windows locks byte ranges, and a locked range cannot be read by others: the lock is on a
#: byte far past the process id written at the start.
_WIN_LOCK_OFFSET = 1 << 30


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - not tested on Windows
        import msvcrt
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii", errors="replace")[:32].strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def exclusive_lock(path: str | Path) -> Iterator[Path]:
    """Hold an exclusive lock on the file ``path`` for the block (created if missing).

    The operating system holds the lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows)
    and drops it when the file is closed or the process ends in any way, SIGKILL included,
    so a lock never outlives its process and needs no clean-up. The holder's process id is
    written into the file for messages. Processes started with ``fork`` without ``exec``
    would share the lock; Dask's worker processes are spawned and do not.

    Raises:
        LockedError: Another process (or another open of the file) holds the lock.
    """
    path = Path(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if not _try_lock(fd):
            raise LockedError(path, _holder(path))
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield path
    finally:
        os.close(fd)  # releases the lock


__all__ = ["MAX_CONFIG_BYTES", "MAX_DEPTH", "MAX_MANIFEST_BYTES", "FrozenModel",
           "InputFileError", "LockedError", "PathError", "StrictModel", "atomic_dir",
           "atomic_file", "atomic_write", "decode_text", "deep_merge", "dotted_to_nested",
           "exclusive_lock", "format_errors", "format_loc", "get_path", "join_path",
           "nesting_depth", "read_bytes", "read_json", "read_text", "read_toml", "set_path",
           "show_value", "split_path"]
