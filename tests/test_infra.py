"""sim.infra: one way in for user files, strict models, error lines, dotted paths, writes, locks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field, ValidationError

from sim import infra
from sim.infra import (
    MAX_CONFIG_BYTES,
    MAX_DEPTH,
    FrozenModel,
    InputFileError,
    LockedError,
    PathError,
    StrictModel,
    atomic_dir,
    atomic_file,
    atomic_write,
    deep_merge,
    dotted_to_nested,
    exclusive_lock,
    format_errors,
    get_path,
    join_path,
    read_bytes,
    read_json,
    read_text,
    read_toml,
    set_path,
    split_path,
)

TEXT = 'name = "Sønder Hjerm"\n# æøå ÆØÅ\n[years]\nend = 2040\n'
PROPS = settings(max_examples=150, deadline=None, derandomize=True, database=None)


@pytest.fixture
def time_limit():
    """Fail (instead of hanging) if the block takes more than 10 s."""
    def alarm(signum, frame):
        raise TimeoutError("took more than 10 s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _err(path: Path, **kw) -> str:
    with pytest.raises(InputFileError) as e:
        read_toml(path, what="scenario file", **kw)
    msg = str(e.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg and "; " in msg
    return msg


# --------------------------------------------------------------------------- encodings
def test_utf8_with_and_without_bom_reads_the_same(tmp_path):
    """Rule: UTF-8 is accepted with or without a byte-order mark (Notepad writes one)."""
    plain = tmp_path / "a.toml"
    plain.write_bytes(TEXT.encode("utf-8"))
    bom = tmp_path / "b.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    assert read_text(plain, what="x") == read_text(bom, what="x") == TEXT
    assert read_toml(bom, what="x")["name"] == "Sønder Hjerm"


@pytest.mark.parametrize("codec,named", [
    ("utf-16", "UTF-16 (little-endian, with a byte-order mark)"),
    ("utf-16-le", "UTF-16 (little-endian)"), ("utf-16-be", "UTF-16 (big-endian)"),
    ("utf-32", "UTF-32 (little-endian, with a byte-order mark)"),
    ("utf-32-le", "UTF-32 (little-endian)"), ("utf-32-be", "UTF-32 (big-endian)")])
def test_utf16_and_utf32_are_named_with_the_fix(tmp_path, codec, named):
    """Rule: UTF-16/UTF-32, with a byte-order mark or recognised by the NUL-byte pattern,
    are named in one line with the fix 'save it as UTF-8'."""
    p = tmp_path / "s.toml"
    p.write_bytes(TEXT.encode(codec))
    msg = _err(p)
    assert f"saved as {named}" in msg and "save it as UTF-8" in msg


@pytest.mark.parametrize("codec", ["latin-1", "cp1252"])
def test_latin1_is_named_with_line_and_fix(tmp_path, codec):
    """Rule: bytes that are not UTF-8 but read as Latin-1 / Windows-1252 are named, with the
    line of the first bad byte."""
    p = tmp_path / "s.toml"
    p.write_bytes(("name = 'x'\n" + TEXT).encode(codec))
    msg = _err(p)
    assert "is not UTF-8 (byte 0xF8 on line 2; it looks like Latin-1 / Windows-1252)" in msg
    assert msg.endswith("save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)")


@pytest.mark.parametrize("blob", [b"name = 'x'\x00\x00\x00 junk", bytes(range(256)) * 8,
                                  b"\x89PNG\r\n\x1a\n" + bytes(range(1, 256)) * 4])
def test_binary_files_are_refused_as_binary(tmp_path, blob):
    """Rule: NUL bytes that are not UTF-16/32, or mostly non-text bytes: 'a binary file'."""
    p = tmp_path / "s.toml"
    p.write_bytes(blob)
    assert "a binary file" in _err(p)


# --------------------------------------------------------------------------- what is read
def test_folders_devices_and_pipes_are_refused_unopened(tmp_path, monkeypatch, time_limit):
    """Rule: a folder, /dev/zero, /dev/null and a FIFO are refused from os.stat alone; the
    file is never opened (a FIFO would block, /dev/zero never ends)."""
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    opened = []
    real_open = os.open
    monkeypatch.setattr(infra.os, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    for path, what in ((tmp_path, "a folder, not a file"),
                       (Path("/dev/zero"), "a device, not a regular file"),
                       (Path("/dev/null"), "a device, not a regular file"),
                       (fifo, "a named pipe (FIFO), not a regular file")):
        assert f"{path}: {what}; give the path of a scenario file" == _err(path)
    assert opened == []


def test_missing_paths_say_not_found(tmp_path):
    """Rule: a missing file, a path through a file and a dangling link: 'file not found'."""
    f = tmp_path / "f.toml"
    f.write_text("a = 1\n")
    (tmp_path / "dangling.toml").symlink_to("nowhere.toml")
    for p in (tmp_path / "nope.toml", f / "x.toml", tmp_path / "dangling.toml"):
        assert "file not found" in _err(p, fix="give the path of a .toml file")


def test_a_symlink_loop_is_one_line(tmp_path):
    """Rule: a link to itself is 'cannot be read (...)', not a RuntimeError."""
    loop = tmp_path / "loop.toml"
    loop.symlink_to("loop.toml")
    assert "cannot be read (Too many levels of symbolic links)" in _err(loop)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_says_permission_denied(tmp_path):
    """Rule: a file without read permission: 'permission denied'; check the permissions."""
    p = tmp_path / "s.toml"
    p.write_text("a = 1\n")
    p.chmod(0)
    assert "cannot be read (permission denied); check the file's permissions" in _err(p)


def test_the_size_limit_is_exact_and_reading_stops_after_it(tmp_path, monkeypatch):
    """Rule: a configuration file may have 1 MiB; one byte more is refused. A file that grows
    after os.stat is never read past max_bytes + 1 bytes."""
    ok = tmp_path / "ok.toml"
    ok.write_bytes(b"#" * MAX_CONFIG_BYTES)
    assert len(read_bytes(ok, what="x")) == MAX_CONFIG_BYTES
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (MAX_CONFIG_BYTES + 1))
    msg = _err(big)
    assert "1,048,577 bytes, more than the 1,048,576 bytes (1 MiB) a scenario file may" in msg
    # the file claims 10 bytes at stat time but holds 5 MB: reading stops at 101 bytes
    huge = tmp_path / "growing.toml"
    huge.write_bytes(b"#" * 5_000_000)
    real_stat, real_read = os.stat, os.read
    got = []

    class Small:
        def __init__(self, s):
            self._s = s

        def __getattr__(self, name):
            return 10 if name == "st_size" else getattr(self._s, name)

    monkeypatch.setattr(infra.os, "stat", lambda p: Small(real_stat(p)))
    monkeypatch.setattr(infra.os, "read", lambda fd, n: got.append(real_read(fd, n)) or got[-1])
    with pytest.raises(InputFileError, match="more than the 100 bytes"):
        read_bytes(huge, what="x", max_bytes=100)
    assert sum(map(len, got)) == 101


# --------------------------------------------------------------------------- parsing
def test_toml_syntax_errors_give_line_and_column(tmp_path):
    """Rule: a TOML syntax error names the line and column and says to fix the syntax."""
    p = tmp_path / "s.toml"
    p.write_text('name = "x"\n[years\n')
    assert "not valid TOML (Expected ']' at the end of a table declaration (at line 2, " \
           "column 7)); fix the syntax" in _err(p)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 400, 20_000])
@pytest.mark.parametrize("shape", ["[", "{a = "])
def test_deep_nesting_is_refused_before_it_recurses(tmp_path, depth, shape):
    """Rule: arrays or inline tables nested deeper than MAX_DEPTH are one line, whether the
    parser recursed out (RecursionError) or not; MAX_DEPTH itself is read."""
    close = "]" if shape == "[" else "}"
    inner = "1" if shape != "[" else ""
    p = tmp_path / "s.toml"
    p.write_text("x = " + shape * depth + inner + close * depth + "\n")
    assert f"nested more than {MAX_DEPTH} levels deep" in _err(p)
    p.write_text("x = " + shape * (MAX_DEPTH - 1) + inner + close * (MAX_DEPTH - 1) + "\n")
    assert read_toml(p, what="x")


def test_long_dotted_keys_are_refused_before_tomllib_parses(tmp_path):
    """Rule: a dotted key of more than MAX_DEPTH parts is refused by a linear scan before
    tomllib (whose memory grows with the square of a key's parts: 20,000 parts, a 40 KB file,
    take 1.5 GB); dots in strings, comments and numbers do not count."""
    p = tmp_path / "s.toml"
    for text in ("x." + ".".join(["a"] * 20_000) + " = 1\n",
                 '"' + '"."'.join(["a"] * 20_000) + '" = 1\n',
                 "x." + ".".join(["a"] * MAX_DEPTH) + " = 1\n"):
        p.write_text(text)
        t0 = time.perf_counter()
        assert f"nested more than {MAX_DEPTH} levels deep" in _err(p)
        assert time.perf_counter() - t0 < 1
    p.write_text('d = "' + "." * 5000 + '"\n# ' + "." * 99 + '\nm = """\n' + "a." * 999
                 + '\n"""\nf = [' + ", ".join(["1.5"] * 999) + "]\nx."
                 + ".".join(["a"] * (MAX_DEPTH - 2)) + " = 1\n")
    assert read_toml(p, what="x")["d"] == "." * 5000


def test_numbers_too_long_to_convert_are_named(tmp_path):
    """Rule: an integer of more digits than Python converts is a clear line, not a
    ValueError traceback, in TOML and JSON."""
    p = tmp_path / "s.toml"
    p.write_text("end = " + "9" * 5000 + "\n")
    assert "(a number has more than 4,300 digits); fix the value" in _err(p)
    j = tmp_path / "m.json"
    j.write_text('{"n": ' + "9" * 5000 + "}")
    with pytest.raises(InputFileError, match="a number has more than"):
        read_json(j, what="manifest")


def test_json_deep_invalid_and_fine(tmp_path):
    """Rule: read_json refuses invalid JSON and deep nesting in one line, reads the rest."""
    j = tmp_path / "m.json"
    for blob, needle in ((b"[" * 100_000, "nested more than"), (b"{x", "not valid JSON")):
        j.write_bytes(blob)
        with pytest.raises(InputFileError, match=needle):
            read_json(j, what="manifest", fix="rerun it")
    j.write_text('{"a": [1, {"b": "æ"}]}', encoding="utf-8")
    assert read_json(j, what="manifest") == {"a": [1, {"b": "æ"}]}


# --------------------------------------------------------------------------- models, errors
class _Item(StrictModel):
    x: int = Field(ge=0)


class _Doc(StrictModel):
    items: list[_Item] = Field([])
    table: dict[str, int] = Field({})
    big: int = 0


class _Frozen(FrozenModel):
    a: int = 1


def test_strict_models_reject_unknown_keys_and_frozen_ones_changes():
    """Rule: StrictModel forbids extra keys; FrozenModel also forbids assignment."""
    with pytest.raises(ValidationError):
        _Doc.model_validate({"itemz": []})
    f = _Frozen()
    with pytest.raises(ValidationError):
        f.a = 2  # type: ignore[misc]
    with pytest.raises(ValidationError):
        _Frozen.model_validate({"b": 1})


def test_format_errors_one_line_per_problem_with_1_based_items():
    """Rule: one line per problem: file, field path with 1-based items, the value (not for
    tables), what is allowed; unknown keys say how to fix them; huge values are short."""
    try:
        _Doc.model_validate({"items": [{"x": 1}, {"x": -1}, {"y": 2}],
                             "table": {"a": "z"}, "big": {"n": 1}, "huge": 10 ** 5000})
    except ValidationError as e:
        lines = format_errors("f.toml", e, "scenario.")
    assert lines == [
        "f.toml: field 'scenario.items[2].x' = -1: Input should be greater than or equal to 0",
        "f.toml: field 'scenario.items[3].x': Field required",
        "f.toml: unknown field 'scenario.items[3].y'; remove it or check the spelling",
        "f.toml: field 'scenario.table.a' = 'z': Input should be a valid integer, unable to "
        "parse string as an integer",
        "f.toml: field 'scenario.big': Input should be a valid integer",
        "f.toml: unknown field 'scenario.huge'; remove it or check the spelling"]
    try:
        _Doc.model_validate({"big": "9" * 5000, "nope": 1})
    except ValidationError as e:
        lines = format_errors("p.toml", e, noun="parameter", see=" (see docs)")
    assert lines[1] == "p.toml: unknown parameter 'nope'; remove it or check the spelling " \
                       "(see docs)"
    assert len(lines[0]) < 300 and "\n" not in lines[0]


# --------------------------------------------------------------------------- dotted paths
def test_split_path_grammar():
    """Rule: names separated by dots, [i] 1-based element numbers (0-based ints back)."""
    assert split_path("relocation.move_rate[2]") == ("relocation", "move_rate", 1)
    assert split_path("initiatives[1].settings.type") == ("initiatives", 0, "settings", "type")
    assert split_path("a[1][2]") == ("a", 0, 1)
    for bad in ("", "a..b", ".a", "a.", "a[0]", "a[x]", "a b", "a]", "[1]"):
        with pytest.raises(PathError):
            split_path(bad)


_NAME = st.text(st.characters(blacklist_characters=".[] \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85"
                              "\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                              "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"),
                min_size=1, max_size=8).filter(lambda s: not any(c.isspace() for c in s))


@PROPS
@given(st.lists(st.one_of(_NAME, st.integers(0, 50)), min_size=1, max_size=8)
       .filter(lambda p: isinstance(p[0], str)))
def test_split_path_inverts_join_path(parts):
    """Property: split_path(join_path(p)) == p for every path of names and indices."""
    assert split_path(join_path(parts)) == tuple(parts)


def test_get_and_set_path():
    """Rule: get_path walks tables and lists (default or a KeyError naming the missing part);
    set_path creates missing tables but never list elements."""
    d = {"relocation": {"move_rate": [0.1, 0.2]}}
    assert get_path(d, "relocation.move_rate[2]") == 0.2
    assert get_path(d, "relocation.nope", None) is None
    with pytest.raises(KeyError, match=r"'relocation\.move_rate\[3\]' does not exist"):
        get_path(d, "relocation.move_rate[3]")
    set_path(d, "relocation.move_rate[1]", 0.5)
    set_path(d, "services.closure_hazard", 0.3)
    assert d == {"relocation": {"move_rate": [0.5, 0.2]}, "services": {"closure_hazard": 0.3}}
    with pytest.raises(KeyError):
        set_path(d, "relocation.move_rate[9]", 1)
    with pytest.raises(KeyError, match="is not a table"):
        set_path(d, "services.closure_hazard.x", 1)


def test_deep_merge_merges_tables_and_leaves_inputs_alone():
    """Rule: tables in both are merged key by key; over wins elsewhere; inputs unchanged."""
    base = {"a": {"b": 1, "c": 2}, "d": [1]}
    over = {"a": {"c": 3}, "d": [2], "e": 4}
    assert deep_merge(base, over) == {"a": {"b": 1, "c": 3}, "d": [2], "e": 4}
    assert base == {"a": {"b": 1, "c": 2}, "d": [1]}


def test_dotted_keys_and_tables_combine_and_clashes_are_errors():
    """Rule: dotted keys and nested tables make one nested dict; a value set twice or set
    as both a value and a table is a PathError (never a silent choice or an AttributeError);
    element numbers cannot be table keys."""
    assert dotted_to_nested({"relocation.rounds": 2, "relocation": {"move_rate": [1]},
                             "services": {"a.b": 1}}) == {
        "relocation": {"rounds": 2, "move_rate": [1]}, "services": {"a": {"b": 1}}}
    for clash in ({"relocation": 5, "relocation.rounds": 3},
                  {"relocation.rounds": 3, "relocation": 5},
                  {"relocation.rounds": 3, "relocation": {"rounds": 4}},
                  {"a.b[2]": 1}, {"a..b": 1}, {".".join(["a"] * (MAX_DEPTH + 1)): 1}):
        with pytest.raises(PathError):
            dotted_to_nested(clash)


@PROPS
@given(st.dictionaries(st.lists(st.sampled_from("abc"), min_size=1, max_size=3)
                       .map(".".join), st.integers(), max_size=6))
def test_dotted_to_nested_keeps_every_value_or_refuses(flat):
    """Property: every value of a flat dotted dict is found at its path afterwards, or the
    keys clash (one is a prefix of another) and PathError says so."""
    clash = any(a != b and b.startswith(a + ".") for a in flat for b in flat)
    if clash:
        with pytest.raises(PathError):
            dotted_to_nested(flat)
    else:
        nested = dotted_to_nested(flat)
        assert all(get_path(nested, k) == v for k, v in flat.items())


# --------------------------------------------------------------------------- writing
def test_atomic_write_is_complete_or_absent_and_shareable(tmp_path):
    """Rule: atomic_write leaves the new content, no temporary file, the usual permissions;
    a failure inside atomic_file leaves the old file and no temporary file."""
    p = tmp_path / "sub" / "f.txt"
    atomic_write(p, "æ\n")
    assert p.read_bytes() == "æ\n".encode()
    mask = os.umask(0)
    os.umask(mask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~mask
    with pytest.raises(RuntimeError), atomic_file(p) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert p.read_text(encoding="utf-8") == "æ\n"
    assert [x.name for x in p.parent.iterdir()] == ["f.txt"]


def test_atomic_dir_never_leaves_a_half_folder(tmp_path):
    """Rule: the folder appears complete or not at all; an existing one is an error unless
    exist='replace' (swapped whole) or 'merge' (file by file)."""
    final = tmp_path / "run"
    with pytest.raises(RuntimeError), atomic_dir(final) as tmp:
        (tmp / "a").write_text("1")
        raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []
    with atomic_dir(final) as tmp:
        (tmp / "a").write_text("1")
    assert (final / "a").read_text() == "1"
    with pytest.raises(FileExistsError, match="run already exists; choose another --name"), \
            atomic_dir(final, exists_hint="choose another --name"):
        pass
    with atomic_dir(final, exist="merge") as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in final.iterdir()) == ["a", "b"]
    with atomic_dir(final, exist="replace") as tmp:
        (tmp / "c").write_text("3")
    assert sorted(p.name for p in final.iterdir()) == ["c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# --------------------------------------------------------------------------- locking
_HOLD = """
import sys, time
from sim.infra import exclusive_lock
with exclusive_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_a_lock_refuses_others_and_dies_with_its_process(tmp_path):
    """Rule: while a process holds the lock, another open of it fails at once naming that
    process's PID; after SIGKILL of the holder the lock is free immediately (no stale lock
    file to clean up)."""
    lock = tmp_path / ".lock"
    with exclusive_lock(lock), pytest.raises(LockedError) as e, exclusive_lock(lock):
        pass
    assert e.value.pid == os.getpid()
    child = subprocess.Popen([sys.executable, "-c", _HOLD, str(lock)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        t0 = time.perf_counter()
        with pytest.raises(LockedError) as e, exclusive_lock(lock):
            pass
        assert e.value.pid == child.pid and time.perf_counter() - t0 < 1
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        with exclusive_lock(lock):
            assert lock.read_text().strip() == str(os.getpid())
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
