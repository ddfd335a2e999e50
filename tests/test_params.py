"""Parameters: one validated set; bad files give one clear line per problem."""

from __future__ import annotations

import pytest

from sim.params import ParameterFileError, Parameters, load_parameters


def test_defaults_are_valid_and_hash_is_stable():
    """Rule: the same values give the same digest; a changed value changes it."""
    a, b = Parameters(), Parameters()
    assert a.digest() == b.digest()
    assert a.with_overrides(scale=0.5).digest() != a.digest()


def test_file_overrides_nested_values(tmp_path):
    """Rule: a TOML file overrides by the same nesting as the parameter groups."""
    f = tmp_path / "p.toml"
    f.write_text("end_year = 2030\n[relocation]\nmove_rate = [0.3, 0.1, 0.1, 0.05]\n")
    p = load_parameters(f)
    assert p.end_year == 2030 and p.relocation.move_rate == (0.3, 0.1, 0.1, 0.05)
    assert p.relocation.rounds == Parameters().relocation.rounds


@pytest.mark.parametrize("text,needle", [
    ("[relocation]\nmove_rates = [0.1, 0.1, 0.1, 0.1]\n",
     "unknown parameter 'relocation.move_rates'"),
    ("scale = 2.0\n", "parameter 'scale' = 2.0"),
    ("end_year = 2000\n", "end_year"),
    ("[housing]\nbuild_rate = 'lots'\n", "parameter 'housing.build_rate'"),
    ("this is not toml", "not valid TOML"),
])
def test_bad_parameter_files_name_file_and_field(tmp_path, text, needle):
    """Rule: every problem is reported with the file name and the field, never a traceback."""
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ParameterFileError) as e:
        load_parameters(f)
    assert str(f) in str(e.value) and needle in str(e.value)


@pytest.mark.parametrize("blob,needle", [
    ("[relocation]\nrounds = 2\n".encode("utf-16"), "parameter file is saved as UTF-16"),
    ("# Ærø\n[relocation]\nrounds = 2\n".encode("latin-1"), "looks like Latin-1"),
    (b"\xef\xbb\xbf[relocation]\nrounds = 2\n", None),
    (b"[relocation]\nmove_rate = [0.1, -0.1, 0.1, 0.1]\n",
     "parameter 'relocation.move_rate[2]' = -0.1: Input should be greater than or equal to 0")])
def test_parameter_files_are_read_as_utf8_and_elements_are_1_based(tmp_path, blob, needle):
    """Rule: UTF-8 with a byte-order mark is read; UTF-16 and Latin-1 are named with the fix;
    a list element is named 1-based as in experiment paths (move_rate[2] is families)."""
    f = tmp_path / "p.toml"
    f.write_bytes(blob)
    if needle is None:
        assert load_parameters(f).relocation.rounds == 2
        return
    with pytest.raises(ParameterFileError) as e:
        load_parameters(f)
    assert str(e.value).startswith(f"{f}: ") and needle in str(e.value)


def test_missing_file_is_reported(tmp_path):
    """Rule: a missing file says so and names the path."""
    with pytest.raises(ParameterFileError, match="file not found"):
        load_parameters(tmp_path / "nope.toml")
