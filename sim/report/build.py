"""Assemble the forum report: one self-contained HTML file in Danish or English.

:func:`build_report` reads the comparison folders (:mod:`sim.report.inputs`), computes the
region overview from the shared baseline (:mod:`sim.report.overview`), one section per
scenario (:mod:`sim.report.initiatives`) and the place profiles
(:mod:`sim.report.profiles`), and renders ``template.html.j2`` with Jinja2 (autoescaping on,
so every name is HTML-escaped). Images are ``data:`` URIs, CSS and script are inline: the file
makes no request of its own. It is written to a temporary file next to the destination and
moved into place only when complete.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jinja2

from .. import __version__
from ..infra import atomic_write
from ..results import git_commit
from . import calibration, initiatives, inputs, overview, profiles, value, volunteers
from .i18n import LANGUAGES, number, text

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent


@dataclass
class BuildInfo:
    """What was built: the file, its size and how long it took."""

    path: Path
    size_bytes: int
    seconds: float
    places: int
    scenarios: int


def _seed_text(seeds: list[int]) -> str:
    s = sorted(int(x) for x in seeds)
    if s == list(range(s[0], s[0] + len(s))) and len(s) > 2:
        return f"{s[0]}-{s[-1]} ({len(s)})"
    return ", ".join(map(str, s))


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True)


def render(comps: list[inputs.Comparison], lang: str, progress: bool = False) -> str:
    """The report's HTML for the comparisons ``comps`` (sharing one baseline)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    steps = ["overview", *[f"scenario {c.name}" for c in comps], "places", "page"]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(steps), desc="report", unit="part")

    def done(step: str) -> None:
        log.info("report: %s done", step)
        if bar is not None:
            bar.update(1)

    first = comps[0]
    seeds_table = first.table("place_year_seeds")
    base = seeds_table[seeds_table["arm"] == "baseline"].drop(columns="arm")
    places = first.table("places").sort_values("place_id").reset_index(drop=True)
    community = None
    if first.has("community_year_seeds"):
        com = first.table("community_year_seeds")
        community = com[com["arm"] == "baseline"].drop(columns="arm")
    ov = overview.Overview(base, places, lang, community)
    ref = overview.grocer_reference()
    region_figures = overview.region_figures(ov)
    done("overview")
    sections = []
    for j, comp in enumerate(comps):
        if not comp.manifest.get("varied"):  # varied magnitudes: in their scenario's table
            sections.append(initiatives.section(j, comp, places, lang, comps))
        done(f"scenario {comp.name}")
    value_overview = value.overview_table(comps, lang)
    rankings = value.rankings(comps, lang)
    q2 = volunteers.section(comps, places, lang)
    pdata = profiles.place_data(base, places, comps, lang)
    munis = (places.sort_values(["municipality", "name"])
             .groupby("municipality", sort=True)[["place_id", "name"]]
             .apply(lambda g: list(zip(g["place_id"], g["name"], strict=True))))
    done("places")
    m0 = first.manifest
    provenance = [{
        "scenario": c.name, "scenario_sha256": c.manifest["scenario_sha256"],
        "baseline": c.manifest["baseline"], "baseline_sha256": c.manifest["baseline_sha256"],
        "seeds": _seed_text(c.manifest["seeds"]), "scale": number(c.manifest["scale"], lang, 2),
        "git_commit": c.manifest.get("git_commit", "unknown"),
        "version": (c.manifest.get("versions") or {}).get("landsim", "unknown"),
    } for c in comps]
    ctx = {
        "lang": lang, "t": lambda key, **kw: text(key, lang, **kw),
        "calibration": calibration.statement(m0, lang),
        "start": ov.start, "end": ov.end, "n_runs": len(ov.seeds),
        "scale_text": f"{number(100 * float(m0['scale']), lang, 0)} %" if lang == "da"
        else f"{number(100 * float(m0['scale']), lang, 0)}%",
        "region_figures": region_figures, "sections": sections,
        "value_overview": value_overview, "rankings": rankings, "q2": q2,
        "municipalities": list(munis.items()), "n_places": len(places),
        "place_json": profiles.safe_json(pdata),
        "strings_json": profiles.safe_json(profiles.js_strings(lang)),
        "provenance": provenance,
        "built": text("prov_built", lang,
                      when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                      version=__version__, commit=git_commit(),
                      folders=", ".join(c.folder.name for c in comps)),
        "dst": f"{ref.citation}, {ref.url}",
        "css": (HERE / "report.css").read_text(encoding="utf-8"),
        "js": (HERE / "report.js").read_text(encoding="utf-8"),
    }
    html = _environment().get_template("template.html.j2").render(**ctx)
    done("page")
    if bar is not None:
        bar.close()
    return html


def default_output(results: list[Path], lang: str) -> Path:
    """Where the report goes by default: ``report-<lang>.html`` in the first RESULTS folder."""
    return Path(results[0]) / f"report-{lang}.html"


def build_report(results: list[Path | str], out: Path | str | None = None, lang: str = "da",
                 progress: bool = False) -> BuildInfo:
    """Build the report from RESULTS and write it atomically.

    Args:
        results: Comparison folders or folders containing them (see :mod:`.inputs`).
        out: The HTML file to write (default :func:`default_output`).
        lang: ``"da"`` (default) or ``"en"``.
        progress: Show a progress bar.

    Raises:
        ReportError: RESULTS cannot make a report (the message names folder, file and fix).
    """
    t0 = time.perf_counter()
    paths = [Path(p) for p in results]
    comps = inputs.load(paths)
    html = render(comps, lang, progress)
    out = Path(out) if out is not None else default_output(paths, lang)
    atomic_write(out, html)  # readable by others (a report is for sharing)
    seconds = time.perf_counter() - t0
    info = BuildInfo(out, out.stat().st_size, seconds, len(comps[0].table("places")),
                     len(comps))
    log.info("report written to %s (%d bytes, %.1f s)", out, info.size_bytes, seconds)
    return info
