"""Packaging: the wheel carries every data file and the calibrated parameters, and an installed
copy runs from any folder on that package data (not on the source tree)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: What building the wheel needs from the repository (the rest is not shipped).
BUILD_INPUTS = ("pyproject.toml", "README.md", "sim", "data", "calibration")
#: The local output of `landsim data refresh`: never shipped, never read by the model.
NOT_SHIPPED = ("refresh",)


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
            and p.relative_to(folder).parts[0] not in NOT_SHIPPED}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built (`pip wheel --no-deps`) from a copy of the repository's build inputs,
    so that no build/ folder or stale file of the working tree gets in."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(p, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
                    str(tmp / "dist"), str(src)], check=True, capture_output=True, timeout=600,
                   env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    (whl,) = (tmp / "dist").glob("landsim-*.whl")
    return whl


def test_wheel_holds_code_data_and_calibration(wheel):
    """Rule: the wheel holds every module of sim/, every file of data/ (SOURCES.md included,
    new files too) as sim/_data/, and calibration/params.toml as sim/_calibration/."""
    names = set(zipfile.ZipFile(wheel).namelist())
    data_files = _files(ROOT / "data")
    assert {"SOURCES.md", "calibration_figures.csv"} <= data_files
    assert {f"sim/_data/{f}" for f in data_files} <= names
    assert "sim/_calibration/params.toml" in names
    code = {f"sim/{f}" for f in _files(ROOT / "sim")
            if f.endswith((".py", ".j2", ".css", ".js"))}
    assert code <= names
    assert not [n for n in names if n.startswith("sim/_data/refresh/")]


@pytest.mark.slow
def test_installed_wheel_runs_on_its_package_data(wheel, tmp_path):
    """Rule: the wheel installed into a fresh folder (not editable) runs `python -m sim run`
    from another folder, on its own package data and calibrated parameters, and the manifest
    says so (path inside the installed package, chosen_by package)."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
                    "--target", str(target), str(wheel)], check=True, capture_output=True,
                   timeout=600, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("LANDSIM_DATA",
                                                              "LANDSIM_CALIBRATION")}
    env.update(PYTHONPATH=str(target), MPLBACKEND="Agg")
    where = subprocess.run([sys.executable, "-c", "import sim; print(sim.__file__)"],
                           capture_output=True, text=True, check=True, cwd=elsewhere, env=env)
    assert Path(where.stdout.strip()).is_relative_to(target)  # the installed copy is imported
    r = subprocess.run([sys.executable, "-m", "sim", "run", "--scale", "0.05", "--years",
                        "2021-2023", "--no-charts", "--no-progress", "--name", "w"],
                       capture_output=True, text=True, cwd=elsewhere, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    m = json.loads((elsewhere / "results" / "w" / "manifest.json").read_text())
    assert m["data_folder"] == {"path": str(target / "sim" / "_data"), "chosen_by": "package"}
    cal = m["calibration_file"]
    assert cal["file"] == str(target / "sim" / "_calibration" / "params.toml")
    assert cal["chosen_by"] == "package"
    shipped = ROOT / "calibration" / "params.toml"
    assert cal["sha256"] == hashlib.sha256(shipped.read_bytes()).hexdigest()
    fitted = tomllib.loads(shipped.read_text(encoding="utf-8"))
    fitted.pop("fit")
    assert fitted and _overlay(m["parameters"], fitted) == m["parameters"]  # values applied


def _overlay(base: dict, over: dict) -> dict:
    """``base`` with the tables of ``over`` written over it (nested)."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _overlay(base[key], value) if isinstance(value, dict) else value
    return out
