"""Command line: run, check, validate, schema, compare, similar, report, explore, and more.

Also batch, sensitivity, summarise, calibrate, validate-model and data refresh.

The library logs through :mod:`logging` and prints nothing; this module decides what the
user sees (log level, progress bars). Every subcommand registers its handler
(``set_defaults(func=...)``) and :func:`main` calls it, with the same handling for all: bad
arguments, and library errors that carry a message for the user (:data:`USER_ERRORS`), give
their lines on stderr (one line for one problem) and exit with status 2, never a traceback.

The global options ``--data DIR`` and ``--calibration FILE|none`` replace the shipped data
and calibrated parameters for the command (:mod:`sim.shipped`; the run's manifest records
the choice).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from pathlib import Path

from . import __version__

EXIT_USAGE = 2
#: Exit status after Ctrl-C.
EXIT_INTERRUPTED = 130

#: Library errors whose message is written for the user, as (module, class). Every command
#: reports them the same way (:func:`_user_error`); they are looked up only in modules that
#: are loaded (an error can only come from a loaded module), so parsing stays light.
USER_ERRORS = (
    ("sim.data", "DataError"),
    ("sim.params", "ParameterFileError"),
    ("sim.scenario", "ScenarioError"),
    ("sim.calibration.config", "CalibrationError"),
    ("sim.report.inputs", "ReportError"),
    ("sim.batch.experiment", "ExperimentError"),
    ("sim.batch.runner", "BatchError"),
    ("sim.statbank", "RefreshError"),
    ("sim.explore", "MissingExtraError"),
)

RUN_HELP = """\
Simulate Region Midtjylland's households from the base year (2021, the year of the parish
populations) to the end year, one step per year, and write results to OUT/NAME:

  place_year.parquet   population, households, age groups, births, deaths, movers in/out,
                       in-/out-migrants, open services, dwellings, vacancies, price index
                       per place and year
  region_year.parquet  region totals per year (also region_year.csv for spreadsheets)
  places.parquet       the places (towns and open countryside per parish) and their scores
  services.parquet     every service unit, when it opened or closed
  manifest.json        seed, resolved parameters and their hash, git commit, versions,
                       data hashes, initial-state check against the forum's figures
  *.png                population by settlement size, map of change, services over time

Examples:
  landsim run                         whole region, 1:1 scale, 2021-2050
  landsim run --scale 0.1 --years 2021-2030 --name quick
  landsim run --params my_params.toml --seed 7

Counts are simulated agents; with --scale below 1 divide by the scale for full-scale
estimates (the charts already do).
"""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


def _years(text: str) -> tuple[int | None, int]:
    m = re.fullmatch(r"\s*(?:(\d{4})\s*-\s*)?(\d{4})\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(
            f"--years takes END or START-END as four-digit years (e.g. 2021-2050), not {text!r}")
    start = int(m.group(1)) if m.group(1) else None
    return start, int(m.group(2))


def _scale(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--scale takes a number in (0, 1], not {text!r}") \
            from None
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"--scale must be in (0, 1] (1 = every household), "
                                         f"not {v}")
    return v


REFRESH_HELP = """\
Download the newest Statistics Denmark tables from the public StatBank API
(api.statbank.dk/v1) for the 19 municipalities of Region Midtjylland, check them and keep
them with provenance:

  folk1a  FOLK1A  population by municipality, sex and age (newest quarter)    required
  by3     BY3     population of urban areas and rural districts (newest year) required
  ras     RAS301 or RAS300  jobs by municipality                              optional
  pend    PEND100 or PEND101  commuters by municipality                       optional

Writes DATA/refresh/<TABLE>_<period>.csv, the raw answers in DATA/refresh/raw/,
DATA/refresh/PROVENANCE.json and a generated block of DATA/SOURCES.md; the shipped base
files are never changed. Nothing is written unless every required table passed its checks.

Exit status: 0 done; 2 bad arguments or data that failed a check; 3 the API's host cannot
be reached (no network). See docs/DATA_REFRESH.md.

Examples:
  landsim data refresh --dry-run
  landsim data refresh
  landsim data refresh --tables folk1a,by3 --table ras=RAS300
"""


RANK_HELP = """\
Try every initiative kind (or --kinds) alone in a village or a class of similar villages,
from the same start year, against one baseline over the same seeds (common random
numbers), and rank them by what each DKK million buys: the difference in residents of the
villages in the last year (or --by another outcome) per million of the initiative's cost,
with its 95% interval over seeds. For each kind the table also says the volunteer hours it
needs a year, the villages' free volunteer hours in the last year and whether their
volunteers can carry it (yes, at_risk, no).

Writes OUT/NAME/ranking.csv and one comparison folder per kind; `landsim report OUT/NAME`
shows the ranking as a section of the forum report.

Examples:
  landsim rank --place Bøvlingbjerg --seeds 20 --scale 0.1
  landsim rank --like Bøvlingbjerg --k 10 --kinds coop_grocer,car_sharing,flex_transit
"""


def _seed(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"--seed takes a non-negative integer, not {text!r}")
    return int(text)


def _add_paired_run_options(p: argparse.ArgumentParser) -> None:
    """Seeds, scale and processes of the paired runs (`compare`, `rank`)."""
    p.add_argument("--seeds", type=int, default=20, help="number of seeds (default 20)")
    p.add_argument("--first-seed", type=_seed, default=0, help="first seed (default 0)")
    p.add_argument("--scale", type=_scale, default=0.25,
                   help="share of households simulated (default 0.25)")
    p.add_argument("--jobs", type=int, default=1, help="parallel processes (default 1)")


def build_parser() -> argparse.ArgumentParser:
    """The ``landsim`` argument parser."""
    parser = _Parser(prog="landsim", description="Agent-based simulation of rural settlements "
                     "in Region Midtjylland, Denmark.")
    parser.add_argument("--version", action="version", version=f"landsim {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument("--data", type=_data_folder, default=None, metavar="DIR",
                        help="data folder to read instead of the shipped data (also "
                        "$LANDSIM_DATA; this option wins); recorded in the manifest")
    parser.add_argument("--calibration", type=_calibration_file, default=None,
                        metavar="FILE|none",
                        help="calibrated parameter file instead of the shipped "
                        "calibration/params.toml, or 'none' for the uncalibrated defaults "
                        "(also $LANDSIM_CALIBRATION; this option wins); recorded in the "
                        "manifest")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    run = sub.add_parser("run", help="simulate the region and write results",
                         description=RUN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--years", type=_years, default=None, metavar="[START-]END",
                     help="years to simulate, e.g. 2021-2050 (START must be 2021, the base "
                     "year); default 2021-2050")
    run.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    run.add_argument("--scale", type=_scale, default=None,
                     help="share of households simulated, in (0, 1]; default 1 (one agent per "
                     "household); 0.1 for a quick look")
    run.add_argument("--out", type=Path, default=Path("results"),
                     help="folder for result folders (default ./results)")
    run.add_argument("--name", default=None, help="name of this run's folder (default "
                     "run-<seed>-<scale>-<time>)")
    run.add_argument("--params", type=Path, default=None, metavar="FILE",
                     help="TOML file overriding parameters (see docs/ODD.md for names)")
    run.add_argument("--scenario", type=Path, default=None, metavar="FILE",
                     help="scenario TOML file (initiatives, trends, parameters); see scenarios/")
    run.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)
    sub.add_parser("check", help="print the initial-state check against the forum's figures"
                   ).set_defaults(func=cmd_check)
    val = sub.add_parser("validate", help="check scenario files; report every problem",
                         description="Check scenario files without running them. Every "
                         "problem of every file is reported (file, item, field, value, what is "
                         "allowed); exit status 2 if there is any.")
    val.add_argument("files", nargs="+", type=Path, metavar="FILE")
    val.set_defaults(func=cmd_validate)
    sch = sub.add_parser("schema", help="write the JSON Schema of scenario files (for editors)")
    sch.add_argument("--out", type=Path, default=Path("scenarios/scenario.schema.json"))
    sch.set_defaults(func=cmd_schema)
    cmp_ = sub.add_parser("compare", help="scenario vs baseline over seeds (paired, 95%% bands)",
                          description="Run the baseline and the scenario with the same seeds "
                          "(common random numbers) and write paired differences with 95% "
                          "intervals per place, parish, municipality and size class, charts and "
                          "the initiatives that failed, to OUT/NAME.")
    cmp_.add_argument("scenario", type=Path, metavar="SCENARIO")
    cmp_.add_argument("--baseline", type=Path, default=None, metavar="FILE",
                      help="baseline scenario (default: scenarios/baseline.toml next to it, or "
                      "the default parameters)")
    _add_paired_run_options(cmp_)
    cmp_.add_argument("--out", type=Path, default=Path("results"))
    cmp_.add_argument("--name", default=None, help="folder name (default compare-<scenario>)")
    cmp_.add_argument("--vary", action="append", default=[], metavar="NAME",
                      help="a magnitude with a plausible range to set with --at: "
                      "KIND.SETTING (e.g. coop_grocer.threshold_factor), community.NAME (e.g. "
                      "community.local_share) or 'all'; repeatable")
    cmp_.add_argument("--at", choices=("low", "central", "high", "sample"), default=None,
                      help="run the --vary magnitudes at this end of their ranges, or drawn "
                      "uniformly from them per seed (sample)")
    cmp_.set_defaults(func=cmd_compare)
    rnk = sub.add_parser("rank", help="which initiatives give the most per krone in a village",
                         description=RANK_HELP,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    where = rnk.add_mutually_exclusive_group(required=True)
    where.add_argument("--place", action="append", default=[], metavar="NAME",
                       help="a village (a town's unique name); repeatable for several")
    where.add_argument("--like", metavar="NAME", default=None,
                       help="the class of villages most like NAME (see `landsim similar`)")
    rnk.add_argument("--k", type=int, default=10,
                     help="how many similar villages with --like (default 10)")
    rnk.add_argument("--kinds", default=None, metavar="KIND[,KIND...]",
                     help="initiative kinds to try (default: every registered kind)")
    rnk.add_argument("--start", type=int, default=2027, help="start year (default 2027)")
    rnk.add_argument("--end", type=int, default=2050, help="last year (default 2050)")
    rnk.add_argument("--by", default="residents",
                     choices=("residents", "residents_region", "grocer_person_years",
                              "service_years"),
                     help="outcome to rank by, per DKK million (default residents: residents "
                     "of the villages in the last year)")
    _add_paired_run_options(rnk)
    rnk.add_argument("--baseline", type=Path, default=None, metavar="FILE",
                     help="baseline scenario (default: scenarios/baseline.toml if it exists, "
                     "else the default parameters); its [years] end wins over --end")
    rnk.add_argument("--out", type=Path, default=Path("results"))
    rnk.add_argument("--name", default=None, help="folder name (default rank-<village>)")
    rnk.set_defaults(func=cmd_rank)
    data = sub.add_parser("data", help="data maintenance (refresh Statistics Denmark tables)",
                          description="Data maintenance. 'landsim data refresh --help' for "
                          "the refresh of Statistics Denmark tables.")
    data.set_defaults(func=cmd_data)
    dsub = data.add_subparsers(dest="data_command", parser_class=_Parser)
    ref = dsub.add_parser("refresh", help="download, check and keep the newest DST tables",
                          description=REFRESH_HELP,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    ref.add_argument("--dry-run", action="store_true",
                     help="show what would be fetched and written; no network, no files")
    ref.add_argument("--tables", default=None, metavar="KEY[,KEY...]",
                     help="refresh only these (folk1a, by3, ras, pend; default all)")
    ref.add_argument("--table", action="append", default=[], metavar="KEY=ID",
                     help="use table ID for KEY instead of the default candidates "
                     "(e.g. ras=RAS301); repeatable")
    ref.add_argument("--out", type=Path, default=None, metavar="DATA",
                     help="data folder to write into (default: the data folder in use: "
                     "--data, $LANDSIM_DATA or the shipped data)")
    ref.add_argument("--base-url", default=None, metavar="URL",
                     help="API address (default: $LANDSIM_STATBANK_URL or "
                     "https://api.statbank.dk/v1)")
    ref.add_argument("--timeout", type=_timeout, default=30.0, metavar="SECONDS",
                     help="seconds to wait for each answer (default 30)")
    ref.add_argument("--skip-plausibility", action="store_true",
                     help="do not compare municipal totals with the shipped data (recorded "
                     "in PROVENANCE.json)")
    ref.set_defaults(func=cmd_data_refresh)
    sim_ = sub.add_parser("similar", help="places most like PLACE (to copy a solution from)",
                          description="List the places most similar to PLACE on standardised "
                          "features (size, age structure, distance to a larger town, services, "
                          "municipal trend), side by side, with notes where contexts differ.")
    sim_.add_argument("place", metavar="PLACE",
                      help="town, '<parish> (land)', a hamlet, or 'Name, Municipality'")
    sim_.add_argument("--k", type=int, default=5, help="how many places (default 5)")
    sim_.add_argument("--any-kind", action="store_true",
                      help="compare towns with open countryside too")
    sim_.add_argument("--scale", type=_scale, default=1.0)
    sim_.add_argument("--seed", type=_seed, default=0)
    sim_.set_defaults(func=cmd_similar)
    rep = sub.add_parser("report", help="the forum report: one self-contained HTML file",
                         description="Make the forum report from comparison results: the "
                         "region without new initiatives (baseline over seeds, with bands), "
                         "each scenario against the baseline (with 95% intervals), and a "
                         "profile of every place, as one HTML file that works offline. RESULTS "
                         "are folders written by `landsim compare` (sharing one baseline, seeds "
                         "and scale) or folders that contain them, e.g. results/. See "
                         "docs/REPORT.md.")
    rep.add_argument("results", nargs="+", type=Path, metavar="RESULTS")
    rep.add_argument("--lang", choices=("da", "en"), default="da",
                     help="language: da (Danish, default) or en (English)")
    rep.add_argument("--out", type=Path, default=None, metavar="FILE",
                     help="HTML file to write (default RESULTS/report-<lang>.html, in the first "
                     "RESULTS folder)")
    rep.add_argument("--no-progress", action="store_true", help="no progress bar")
    rep.set_defaults(func=cmd_report)
    exp = sub.add_parser("explore", help="interactive explorer (SolaraViz; extra 'explore')",
                         description="Open Mesa's SolaraViz on a small run: a map of the places "
                         "coloured by population, sliders for the main parameters and a "
                         "population chart. Needs `pip install -e \".[explore]\"`.")
    exp.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    exp.add_argument("--host", default="localhost", help="host (default localhost)")
    exp.add_argument("--no-browser", action="store_true", help="do not open a browser")
    exp.set_defaults(func=cmd_explore)
    cal = sub.add_parser("calibrate", help="fit parameters to observed data (<= fit_end)",
                         description="Fit the behavioural parameters named in CONFIG to "
                         "observed data up to its fit_end (differential evolution over "
                         "historical runs), write calibration/params.toml (the defaults of "
                         "every scenario and run) and regenerate calibration/report/, including "
                         "the held-out validation. See docs/CALIBRATION.md.")
    cal.add_argument("config", type=Path, metavar="CONFIG",
                     help="calibration file, e.g. calibration/default.toml")
    cal.add_argument("--out", type=Path, default=Path("calibration"),
                     help="folder for params.toml and report/ (default ./calibration)")
    cal.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="run the candidates on a Dask cluster (the batch engine, extra "
                     "'batch'), e.g. tcp://host:8786; default: a local process pool")
    cal.set_defaults(func=cmd_calibrate)
    vm = sub.add_parser("validate-model", help="held-out validation table of params.toml",
                        description="Rerun the held-out validation (model vs trend and share "
                        "baselines, municipal growth over the held-out years) with the fitted "
                        "values in params.toml; print the table and update the report's "
                        "validation files.")
    vm.add_argument("--config", type=Path, default=Path("calibration/default.toml"))
    vm.add_argument("--params", type=Path, default=Path("calibration/params.toml"))
    vm.add_argument("--out", type=Path, default=Path("calibration/report"))
    vm.set_defaults(func=cmd_validate_model)
    from .batch.commands import add_parsers as add_batch_parsers
    add_batch_parsers(sub)
    return parser


def cmd_calibrate(args: argparse.Namespace) -> int:
    """``landsim calibrate``."""
    from .calibration import CalibrationError, calibrate
    from .data import DataError

    def progress(gen: int, best: float) -> None:
        print(f"generation {gen}: best distance {best:.3f}", file=sys.stderr)

    try:
        t0 = time.perf_counter()
        if args.scheduler is None:
            man = calibrate(args.config, args.out, progress=progress)
        else:
            from .batch.runner import BatchError, dask_client
            from .calibration.fit import dask_map
            try:
                with dask_client(scheduler=args.scheduler) as client:
                    man = calibrate(args.config, args.out, pool_map=dask_map(client),
                                    progress=progress)
            except BatchError as e:
                return _fail(str(e))
    except (CalibrationError, DataError) as e:
        return _fail_all(str(e).splitlines())
    except KeyboardInterrupt:
        sys.stderr.write("landsim: interrupted; params.toml and the report were not changed\n")
        return EXIT_INTERRUPTED
    d = man["distance"]
    print(f"distance {d['uncalibrated']:.3f} (uncalibrated) -> {d['optimum']:.3f} in "
          f"{time.perf_counter() - t0:.0f} s; fit hash {man['fit_hash'][:16]}", file=sys.stderr)
    for row in man["validation"]:
        print(f"{row['predictor']}: MAE {row['mae_pp']:.2f} pp, sign right "
              f"{row['sign_right']} of {row['municipalities']}", file=sys.stderr)
    print(args.out / "params.toml")
    return 0


def cmd_validate_model(args: argparse.Namespace) -> int:
    """``landsim validate-model``."""
    from .calibration import CalibrationError, validate_model
    from .data import DataError
    from .params import ParameterFileError

    try:
        _, text = validate_model(args.config, args.params, args.out)
    except (CalibrationError, DataError, ParameterFileError) as e:
        return _fail_all(str(e).splitlines())
    print(text)
    return 0


def _timeout(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--timeout takes seconds (a number), not {text!r}") \
            from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"--timeout must be positive, not {v}")
    return v


def cmd_data_refresh(args: argparse.Namespace) -> int:
    """``landsim data refresh``."""
    from .data import DataError, data_dir
    from .refresh import EXIT_OFFLINE, plan, refresh, resolve_base_url, select_specs
    from .statbank import RefreshError, StatbankUnreachableError

    overrides = {}
    for item in args.table:
        key, sep, tid = item.partition("=")
        if not sep or not key.strip() or not re.fullmatch(r"[A-Za-z0-9]+", tid.strip()):
            return _fail(f"--table takes KEY=ID with a table id of letters and digits "
                         f"(e.g. ras=RAS301), not {item!r}")
        overrides[key.strip()] = tid.strip().upper()
    keys = [k.strip() for k in args.tables.split(",") if k.strip()] if args.tables else None
    out = args.out or data_dir()
    try:
        specs = select_specs(keys)
        unknown = [k for k in overrides if k not in {s.key for s in specs}]
        if unknown:
            return _fail(f"--table names key(s) {', '.join(unknown)} that are not refreshed; "
                         f"refreshed: {', '.join(s.key for s in specs)}")
        if args.dry_run:
            print("\n".join(plan(specs, resolve_base_url(args.base_url), out, overrides)))
            return 0
        report = refresh(out, keys=keys, base_url=args.base_url, timeout=args.timeout,
                         overrides=overrides, plausibility=not args.skip_plausibility)
    except StatbankUnreachableError as e:
        sys.stderr.write(f"landsim: cannot reach {e.host} ({e.reason}); no data refreshed, "
                         "nothing written\n")
        return EXIT_OFFLINE
    except (RefreshError, DataError) as e:
        return _fail(f"{e}; nothing written")
    for f in report.fetched:
        print(f"{f['key']}: {f['table']} {f['period']}, {f['rows']:,} rows (table updated "
              f"{f['updated']}) -> {out / f['file']}")
    for why in report.unavailable.values():
        print(f"not refreshed: {why}")
    print(f"provenance: {out / 'refresh' / 'PROVENANCE.json'}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """``landsim report RESULTS``."""
    from .report import ReportError, build_report

    if args.out is not None and args.out.suffix.lower() not in (".html", ".htm"):
        return _fail(f"--out must name an .html file, not {str(args.out)!r}")
    show = show_progress(args)
    try:
        info = build_report(args.results, out=args.out, lang=args.lang, progress=show)
    except ReportError as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        sys.stderr.write("landsim: interrupted; no report was written\n")
        return EXIT_INTERRUPTED
    print(f"report ({args.lang}): {info.places:,} places, {info.scenarios} scenario(s), "
          f"{info.size_bytes:,} bytes, built in {info.seconds:.1f} s", file=sys.stderr)
    print(info.path)
    return 0


def cmd_explore(args: argparse.Namespace) -> int:
    """``landsim explore``: SolaraViz in the browser."""
    from .explore import MissingExtraError, serve

    try:
        return serve(host=args.host, port=args.port, open_browser=not args.no_browser)
    except MissingExtraError as e:
        return _fail(str(e))


def cmd_similar(args: argparse.Namespace) -> int:
    """``landsim similar PLACE``."""
    from .model import RegionModel
    from .params import Parameters
    from .similar import find_place, format_table, similar
    from .world import get_world

    if args.k < 1:
        return _fail("--k must be at least 1")
    params = Parameters(scale=args.scale, end_year=2022)
    world = get_world(params)
    try:
        pid = find_place(world.places, args.place)
    except ValueError as e:
        return _fail(str(e))
    model = RegionModel(params, seed=args.seed, world=world)
    print(format_table(similar(model, pid, k=args.k, same_kind=not args.any_kind)))
    return 0


def _fail(msg: str) -> int:
    sys.stderr.write(f"landsim: error: {msg}\n")
    return EXIT_USAGE


def cmd_run(args: argparse.Namespace) -> int:
    """``landsim run``."""
    from .data import DataError
    from .params import ParameterFileError, load_parameters

    overrides: dict = {}
    if args.scale is not None:
        overrides["scale"] = args.scale
    if args.years is not None:
        start, end = args.years
        if start is not None and start != 2021:
            return _fail(f"--years must start at the base year 2021, not {start}")
        overrides["end_year"] = end
    try:
        params = load_parameters(args.params, calibrated=True, **overrides)
    except ParameterFileError as e:
        return _fail(str(e))
    scenario = None
    if args.scenario is not None:
        from .scenario import ScenarioError, load, parameters
        try:
            scenario = load(args.scenario, _places())
        except ScenarioError as e:
            return _fail_all(e.problems)
        if args.params is not None:
            return _fail("give either --params or --scenario (a scenario carries parameters)")
        params = parameters(scenario).with_overrides(**overrides)
    name = args.name or time.strftime(f"run-{args.seed}-{params.scale:g}-%Y%m%d-%H%M%S")
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        return _fail(f"--name may use letters, digits, '.', '_' and '-' only, not {name!r}")
    if (args.out / name).exists():
        return _fail(f"{args.out / name} already exists; choose another --name")
    from .checks import format_forum_figures
    from .model import RegionModel
    from .results import write_results

    show = show_progress(args)
    t0 = time.perf_counter()
    try:
        print(f"landsim {__version__}: building the region (scale {params.scale:g}, "
              f"seed {args.seed}) ...", file=sys.stderr)
        model = RegionModel(params, seed=args.seed, scenario=scenario)
        from .checks import forum_figures
        print("initial state vs the forum's figures:\n"
              + format_forum_figures(forum_figures(model.world.places)), file=sys.stderr)
        t1 = time.perf_counter()
        model.run(progress=show)
        t2 = time.perf_counter()
        folder = write_results(model, args.out, name, charts=not args.no_charts,
                               extra={"wall_seconds": {"init": round(t1 - t0, 2),
                                                       "run": round(t2 - t1, 2)}})
    except DataError as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        sys.stderr.write("landsim: interrupted; no results were written\n")
        return EXIT_INTERRUPTED
    r = model.region_year()
    last = r.iloc[-1]
    print(f"simulated {params.base_year}-{params.end_year}: population "
          f"{int(r.iloc[0]['population'] / params.scale):,} -> "
          f"{int(last['population'] / params.scale):,} (full-scale estimate) in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    print(folder)
    return 0


def _places():
    from .places import build_places
    return build_places().places


def _fail_all(problems: list[str]) -> int:
    for line in problems:
        sys.stderr.write(f"{line}\n")
    sys.stderr.write(f"landsim: {len(problems)} problem(s); nothing was run\n")
    return EXIT_USAGE


def cmd_validate(args: argparse.Namespace) -> int:
    """``landsim validate FILE...``."""
    from .scenario import validate_files

    problems = validate_files(args.files, _places())
    if problems:
        return _fail_all(problems)
    print(f"{len(args.files)} scenario file(s) valid")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """``landsim schema``: the JSON Schema of scenario files."""
    import json

    from .scenario import json_schema

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(json_schema(), indent=2) + "\n", encoding="utf-8")
    print(args.out)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """``landsim compare SCENARIO``."""
    from .compare import compare
    from .scenario import Scenario, ScenarioError, load

    if args.seeds < 2:
        return _fail("--seeds must be at least 2 (intervals need several seeds)")
    places = _places()
    try:
        scenario = load(args.scenario, places)
        base_path = args.baseline or (args.scenario.parent / "baseline.toml")
        if args.baseline is None and not base_path.exists():
            baseline = Scenario(name="baseline", years=scenario.years)
        else:
            baseline = load(base_path, places)
    except ScenarioError as e:
        return _fail_all(e.problems)
    if baseline.years.end != scenario.years.end:
        return _fail(f"baseline ends in {baseline.years.end} but the scenario in "
                     f"{scenario.years.end}; give both the same [years] end")
    if bool(args.vary) != bool(args.at):
        return _fail("--vary and --at go together: name the magnitudes (--vary) and the end "
                     "of their ranges (--at low|central|high|sample)")
    from .ranges import magnitudes

    if args.vary:
        known = magnitudes(scenario)
        for v in args.vary:
            if v != "all" and v not in known:
                import difflib
                close = difflib.get_close_matches(v, list(known), n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                return _fail(f"--vary {v!r}: not a magnitude with a range in "
                             f"{args.scenario}{hint} (known: {', '.join(sorted(known))})")
    label = f".{args.vary[0] if len(args.vary) == 1 else 'all'}-{args.at}" if args.vary else ""
    name = args.name or f"compare-{scenario.name}{label}"
    if (args.out / name).exists():
        return _fail(f"{args.out / name} already exists; choose another --name")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    t0 = time.perf_counter()
    print(f"comparing {scenario.name}{label} with {baseline.name}: {len(seeds)} seeds x 2 runs "
          f"at scale {args.scale:g} ...", file=sys.stderr)
    folder = compare(scenario, baseline, seeds, args.scale, args.out, name, jobs=args.jobs,
                     vary=args.vary or None, at=args.at)
    import pandas as pd

    t = pd.read_parquet(folder / "difference_targeted.parquet").iloc[-1]
    ev = pd.read_parquet(folder / "initiative_events.parquet")
    failed = ev[ev["event"] == "failed"]
    print(f"targeted places in {int(t['year'])}: {t['scenario']:,.0f} inhabitants vs "
          f"{t['baseline']:,.0f} in the baseline, difference {t['mean_diff']:+,.0f} "
          f"(95% interval {t['ci_low']:+,.0f} to {t['ci_high']:+,.0f}, {int(t['n'])} seeds)",
          file=sys.stderr)
    print(f"initiatives failed: {len(failed)} of {int((ev['event'] == 'started').sum())} "
          "place-runs (see initiative_events.parquet for where, when and why)", file=sys.stderr)
    eff = pd.read_parquet(folder / "effectiveness.parquet")
    e = eff[(eff["outcome"] == "residents") & (eff["cost_end"] == "central")].iloc[0]
    if e["cost_dkk"] > 0:
        print(f"cost: DKK {e['cost_dkk'] / 1e6:,.2f} million (beyond the baseline); residents "
              f"of the targeted places per DKK million: {e['per_million']:+,.1f} (95% interval "
              f"{e['per_million_low']:+,.1f} to {e['per_million_high']:+,.1f}; see "
              "effectiveness.csv)", file=sys.stderr)
    print(f"done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print(folder)
    return 0


def cmd_rank(args: argparse.Namespace) -> int:
    """``landsim rank``: initiatives ranked by what each DKK million buys in a village."""
    from .initiatives import INITIATIVES
    from .ranking import format_table, rank
    from .scenario import Target

    if args.seeds < 2:
        return _fail("--seeds must be at least 2 (intervals need several seeds)")
    if not 2022 <= args.start <= args.end <= 2100:
        return _fail(f"--start {args.start} and --end {args.end}: need 2022 <= start <= end "
                     "<= 2100")
    kinds = sorted(INITIATIVES) if args.kinds is None else \
        [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in INITIATIVES]
    if unknown or not kinds:
        return _fail(f"--kinds: unknown kind(s) {', '.join(unknown) or '(none given)'}; known: "
                     f"{', '.join(sorted(INITIATIVES))}")
    places = _places()
    from .scenario import Scenario, ScenarioError, load
    from .similar import find_place

    base_path = args.baseline or Path("scenarios/baseline.toml")
    try:
        baseline = load(base_path, places) if args.baseline is not None or base_path.exists() \
            else Scenario(name="baseline", years={"end": args.end})
    except ScenarioError as e:
        return _fail_all(e.problems)
    if args.start > baseline.years.end:
        return _fail(f"--start {args.start} is after the baseline's last year "
                     f"{baseline.years.end}")
    if args.like is not None:
        if not 1 <= args.k <= 100:
            return _fail(f"--k must be 1-100, not {args.k}")
        try:
            find_place(places, args.like)
        except ValueError as e:
            return _fail(f"--like: {e}")
        target = Target(similar_to=args.like, k=args.k)
        label = f"the {args.k} villages most like {args.like}"
        slug = args.like
    else:
        for name in args.place:
            n = int((places["name"] == name).sum())
            if n == 0:
                try:
                    find_place(places, name)
                except ValueError as e:
                    return _fail(f"--place: {e}")
                return _fail(f"--place {name!r}: give a town's own name (see `landsim similar "
                             f"{name!r}`)")
            if n > 1:
                munis = ", ".join(sorted(places.loc[places["name"] == name, "municipality"]))
                return _fail(f"--place {name!r} names {n} places ({munis}); use --like "
                             f"'{name}, <municipality>' --k 1 for one of them")
        target = Target(places=args.place, kind="any")
        label = ", ".join(args.place)
        slug = args.place[0] if len(args.place) == 1 else f"{args.place[0]}+{len(args.place) - 1}"
    name = args.name or "rank-" + re.sub(r"[^\w.-]+", "_", slug)
    if (args.out / name).exists():
        return _fail(f"{args.out / name} already exists; choose another --name")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    t0 = time.perf_counter()
    print(f"ranking {len(kinds)} initiative kinds in {label}: {len(seeds)} seeds x "
          f"{len(kinds) + 1} runs at scale {args.scale:g} ...", file=sys.stderr)
    folder = rank(target, label, kinds, seeds, args.scale, args.out, name, start=args.start,
                  end_year=baseline.years.end, baseline=baseline, jobs=args.jobs, by=args.by)
    import pandas as pd

    print(format_table(pd.read_csv(folder / "ranking.csv")))
    print(f"done in {time.perf_counter() - t0:.0f} s; `landsim report {folder}` for the forum "
          "report", file=sys.stderr)
    print(folder)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """``landsim check``: the initial-state figures."""
    from .checks import format_forum_figures, forum_figures
    from .data import DataError
    from .places import build_places

    try:
        pb = build_places()
    except DataError as e:
        return _fail(str(e))
    fig = forum_figures(pb.places)
    print(f"places: {len(pb.places):,} ({(pb.places['kind'] == 'town').sum():,} towns, "
          f"{(pb.places['kind'] == 'countryside').sum():,} open-countryside parts of parishes)")
    print(f"population 2021: {fig['total']:,}")
    print(format_forum_figures(fig))
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    """``landsim data`` without a subcommand."""
    return _fail("'landsim data' needs a subcommand: refresh (see 'landsim data --help')")


def _data_folder(text: str) -> Path:
    p = Path(text).expanduser()
    if not p.is_dir():
        raise argparse.ArgumentTypeError(f"--data takes an existing data folder, not {text!r}")
    return p


def _calibration_file(text: str) -> str:
    from .shipped import NONE

    if text.lower() != NONE and not Path(text).expanduser().is_file():
        raise argparse.ArgumentTypeError(f"--calibration takes a parameter file (.toml) or "
                                         f"'{NONE}', not {text!r}: no such file")
    return text


def show_progress(args: argparse.Namespace) -> bool:
    """Whether a command shows progress bars: unless --no-progress, on a terminal only."""
    return not getattr(args, "no_progress", False) and sys.stderr.isatty()


def _user_error_types() -> tuple[type[BaseException], ...]:
    return tuple(getattr(sys.modules[mod], cls) for mod, cls in USER_ERRORS
                 if mod in sys.modules)


def _user_error(e: BaseException) -> int:
    """Report a library error with a message for the user: one line per problem, exit 2."""
    lines = list(getattr(e, "problems", None) or str(e).splitlines()) or [type(e).__name__]
    if len(lines) == 1:
        return _fail(lines[0])
    for line in lines:
        sys.stderr.write(f"{line}\n")
    sys.stderr.write(f"landsim: error: {len(lines)} problem(s)\n")
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``landsim`` console script."""
    from .shipped import CALIBRATION, DATA

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        with DATA.chosen(args.data), CALIBRATION.chosen(args.calibration):
            return args.func(args)
    except _user_error_types() as e:
        return _user_error(e)
    except KeyboardInterrupt:
        sys.stderr.write("landsim: interrupted\n")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
