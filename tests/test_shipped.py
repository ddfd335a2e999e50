"""Shipped inputs: the packaged data and calibrated file, replaced only explicitly (an
environment variable or a CLI option, the option winning) and recorded with how they were
chosen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sim import shipped
from sim.data import DATA_ENV, data_dir, data_source
from sim.params import CALIBRATION_ENV, calibrated_file, calibration_info

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def no_overrides(monkeypatch):
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.delenv(CALIBRATION_ENV, raising=False)


def test_checkout_reads_the_repository_folders(no_overrides):
    """Rule: without an override, a source checkout or editable install (no sim/_data in the
    package) reads the repository's data/ and calibration/params.toml, chosen_by package."""
    assert not (ROOT / "sim" / "_data").exists()
    assert data_source() == shipped.Choice(ROOT / "data", shipped.PACKAGE)
    assert calibrated_file() == ROOT / "calibration" / "params.toml"
    info = calibration_info()
    assert info["chosen_by"] == "package" and info["file"].endswith("params.toml")
    assert len(info["sha256"]) == 64 and info["fit"]["fit_hash"]


def test_packaged_prefers_the_installed_copy(tmp_path, monkeypatch):
    """Rule: when the package holds the folder (an installed wheel's sim/_data), that copy is
    read, not the repository's."""
    fake_pkg = tmp_path / "sim"
    (fake_pkg / "_data").mkdir(parents=True)
    monkeypatch.setattr(shipped.resources, "files", lambda package: fake_pkg)
    assert shipped.packaged("_data", "data") == fake_pkg / "_data"
    assert shipped.packaged("_calibration", "calibration") == ROOT / "calibration"


def test_environment_then_option_override(no_overrides, monkeypatch, tmp_path):
    """Rule: $LANDSIM_DATA replaces the shipped folder, the option replaces both, and each
    is recorded as the way it was chosen; leaving the option's block restores the env var."""
    env_dir, opt_dir = tmp_path / "env", tmp_path / "opt"
    env_dir.mkdir()
    opt_dir.mkdir()
    monkeypatch.setenv(DATA_ENV, str(env_dir))
    assert data_source().record() == {"path": str(env_dir), "chosen_by": "LANDSIM_DATA"}
    with shipped.DATA.chosen(opt_dir) as choice:
        assert choice == data_source() == shipped.Choice(opt_dir, "--data")
        assert data_dir() == opt_dir
        assert os.environ[DATA_ENV] == str(opt_dir)  # worker processes see the same folder
    assert os.environ[DATA_ENV] == str(env_dir)
    assert data_source().chosen_by == "LANDSIM_DATA"
    with shipped.DATA.chosen(None):  # no option given: nothing changes
        assert data_source().chosen_by == "LANDSIM_DATA"


def test_option_without_env_var_leaves_none_behind(no_overrides, tmp_path):
    """Rule: an option given with no env var set removes the env var again afterwards."""
    with shipped.DATA.chosen(tmp_path):
        assert os.environ[DATA_ENV] == str(tmp_path)
    assert DATA_ENV not in os.environ
    assert data_source().chosen_by == "package"


def test_calibration_none_means_uncalibrated(no_overrides, monkeypatch):
    """Rule: 'none' (any case), by env var or option, selects the uncalibrated defaults and
    is recorded as such; a relative path is recorded resolved."""
    monkeypatch.setenv(CALIBRATION_ENV, "None")
    assert calibrated_file() is None
    assert calibration_info() == {"file": None, "chosen_by": "LANDSIM_CALIBRATION"}
    monkeypatch.delenv(CALIBRATION_ENV)
    with shipped.CALIBRATION.chosen("none"):
        assert calibration_info() == {"file": None, "chosen_by": "--calibration"}
        assert os.environ[CALIBRATION_ENV] == "none"
    monkeypatch.chdir(ROOT)
    with shipped.CALIBRATION.chosen("calibration/params.toml"):
        assert calibration_info()["file"] == str(ROOT / "calibration" / "params.toml")
