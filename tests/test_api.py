"""The public API: ``sim.__all__`` is the documented list, every name resolves, and
``import sim`` is light (names are imported on first use)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sim

API_DOC = Path(__file__).resolve().parent.parent / "docs" / "API.md"
#: Libraries that ``import sim`` (and building the CLI's parser) must not load.
HEAVY = ("numpy", "pandas", "pyarrow", "pydantic", "scipy", "matplotlib", "mesa", "shapely",
         "pyproj", "dask", "distributed", "jinja2", "tqdm", "SALib", "ema_workbench")


def _documented() -> dict[str, str]:
    """Name -> module of each row of docs/API.md's "Names" table."""
    text = API_DOC.read_text(encoding="utf-8")
    section = text.split("## Names", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Za-z_]+)` \| `([a-z_.]+)`", section, flags=re.M)
    return dict(rows)


def test_all_is_the_documented_list():
    """Rule: sim.__all__ equals the names documented in docs/API.md, in the same order, and
    each row names the module the name is imported from."""
    doc = _documented()
    assert list(doc) == sim.__all__
    for name, module in doc.items():
        if name != "__version__":
            assert sim._API[name].partition(":")[0] == module, name


def test_every_public_name_resolves():
    """Rule: every name of __all__ is an attribute of sim (imported on first use) and is in
    dir(sim); an unknown name raises AttributeError (so `from sim import data` still finds
    the submodule)."""
    for name in sim.__all__:
        assert getattr(sim, name) is not None, name
        assert name in dir(sim)
    assert sim.load_scenario is sim.scenario.load
    assert sim.refresh_data is sim.refresh.refresh
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sim.nope  # noqa: B018
    from sim import data
    assert data.__name__ == "sim.data"


def _loaded_after(code: str) -> set[str]:
    probe = (f"import sys; {code}; "
             "import json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=API_DOC.parent)
    return set(json.loads(out.stdout))


def test_import_sim_loads_no_heavy_module():
    """Rule: `import sim` imports none of the heavy libraries (they load on first use)."""
    assert not _loaded_after("import sim") & set(HEAVY)


def test_cli_parser_loads_no_heavy_module():
    """Rule: building the `landsim` parser (what `landsim --help` does) stays light, and a
    public name pulls in its own module only when it is used."""
    assert not _loaded_after("import sim.cli; sim.cli.build_parser()") & set(HEAVY)
    assert "pydantic" in _loaded_after("import sim; sim.Parameters")
