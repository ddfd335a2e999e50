"""``landsim data refresh``: fetch the newest Statistics Denmark tables, check them, keep them.

What is fetched (:data:`SPECS`), for the 19 municipalities of Region Midtjylland (their codes
come from the shipped ``municipal_population_1993_2023.csv``), newest period only:

* ``folk1a`` (required): FOLK1A, population on the first day of the quarter by municipality
  (``OMRÅDE``), sex (``KØN``, every value) and age (``ALDER``, every value); other variables
  at their total.
* ``by3`` (required): BY3, population on 1 January of every urban area and rural district
  (``BYER``, every value; kept when its label starts with one of the 19 municipality codes,
  as in ``751-99999 Landdistrikter``), measure ``FOLKARTÆT`` at its population value.
* ``ras`` (optional): employed persons (jobs) by municipality; tried in order RAS301, RAS300.
* ``pend`` (optional): commuters by municipality; tried in order PEND100, PEND101.

The optional table ids could not be checked against the API when this was written (no
network); the command tries each candidate, says which exist, and lists the API's tables with
the same prefix when none does (``--table ras=ID`` picks another).

How a request is built from ``tableinfo`` (:func:`build_query`): the time variable at its
newest value; a variable whose values hold all 19 municipality codes at those codes; the
variables a spec keeps whole at ``*``; every other variable at its total value (id ``TOT`` /
``IALT`` or a label such as ``Total``, ``Age, total``, ``I alt``), or left out when it has no
total and the API may sum over it (``elimination``). ``lang`` is ``en`` (decimal point) and
``valuePresentation`` ``Code``.

Checks (:func:`check`), all before anything is written: the expected columns; every figure a
number (or ``..``); every value id one the table declares; all 19 municipalities present;
FOLK1A's sexes and ages add up to its totals; and the municipal totals of FOLK1A and BY3 are
*plausible against the shipped data*: the change from the shipped figure of the nearest year
is at most the largest change over the same number of years that any of the 19 municipalities
had in the shipped 1993-2023 series (:func:`plausible_change`). ``--skip-plausibility``
switches only that last check off (and says so in the provenance).

Written (atomically, only after every required table passed): ``data/refresh/<TABLE>_<period>.csv``
(tidy: value ids, labels, figure), ``data/refresh/raw/`` (the answers exactly as received),
``data/refresh/PROVENANCE.json`` (URL, query, time retrieved, the table's ``updated`` stamp,
SHA-256, rows, checks) and a generated block in ``data/SOURCES.md``. The shipped base files are
never touched, and the model does not read ``data/refresh/``.

Exit codes of the command: 0 done (optional tables may be missing, as reported), 2 bad
arguments or data that failed a check (nothing written), 3 the API's host cannot be reached
(no network, DNS failure, refused, timeout or a server error; nothing written).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import os
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import __version__
from .infra import MAX_MANIFEST_BYTES, InputFileError, atomic_write, read_json, read_text
from .statbank import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    ParsedCsv,
    RefreshError,
    StatbankApiError,
    StatbankClient,
    TableInfo,
    Variable,
    parse_data_csv,
)

log = logging.getLogger(__name__)

#: Exit status: data failed a check, or bad arguments (nothing written).
EXIT_INVALID = 2
#: Exit status: the API's host cannot be reached (nothing written).
EXIT_OFFLINE = 3
#: Sub-folder of the data folder that receives refreshed tables.
REFRESH_DIR = "refresh"
PROVENANCE_FILE = "PROVENANCE.json"
SOURCES_BEGIN = "<!-- landsim data refresh: begin (written by `landsim data refresh`) -->"
SOURCES_END = "<!-- landsim data refresh: end -->"
LANG = "en"

_TOTAL_IDS = {"TOT", "IALT", "TOTAL", "I ALT", "IALT0"}
_TOTAL_TEXT = re.compile(r"^(total|i alt|in total|all\b.*)$|,\s*total$|\bi alt$", re.I)
_TOWN_LABEL = re.compile(r"^\s*(\d{3})-\d{4,5}\b")
_TOWN_ID = re.compile(r"^(\d{3})\d{5}$")
_PERIOD = re.compile(r"^(\d{4})(?:K([1-4])|M(0[1-9]|1[0-2]))?")


def total_value(var: Variable) -> str | None:
    """The id of ``var``'s total value (``TOT``, ``IALT``, ``Total``, ``Age, total``...)."""
    for vid, text in var.values:
        if vid.upper() in _TOTAL_IDS or _TOTAL_TEXT.search(text.strip()):
            return vid
    return None


def _population_value(info: TableInfo, var: Variable) -> str:
    """BY3 ``FOLKARTÆT``: the value that is the population (not area, not density)."""
    for vid, text in var.values:
        t = text.lower()
        if re.match(r"^(population|folketal|inhabitants|indbyggere)\b", t) and not re.search(
                r"dens|tæthed|per km|pr\. km|km2", t):
            return vid
    raise RefreshError(f"{info.id}: variable {var.id} has no population value (values: "
                       + ", ".join(f"{i} '{t}'" for i, t in var.values) + ")")


@dataclass(frozen=True)
class TableSpec:
    """What to fetch for one kind of table and how to check it.

    Attributes:
        key: Name used on the command line and in PROVENANCE.json.
        candidates: Table ids to try, in order.
        required: If True a failure stops the refresh; if False it is reported and skipped.
        what: One line for people.
        keep_all: Variables fetched at every value (``*``).
        pick: Variables whose value is chosen by a function of the table and variable.
        municipality_from_labels: Variable whose labels start with the municipality code.
        check_totals: Check municipal totals against the shipped data.
    """

    key: str
    candidates: tuple[str, ...]
    required: bool
    what: str
    keep_all: tuple[str, ...] = ()
    pick: dict[str, Callable[[TableInfo, Variable], str]] = field(default_factory=dict)
    municipality_from_labels: str | None = None
    check_totals: bool = False


SPECS: tuple[TableSpec, ...] = (
    TableSpec("folk1a", ("FOLK1A",), True,
              "population by municipality, sex and age, first day of the newest quarter",
              keep_all=("KØN", "ALDER"), check_totals=True),
    TableSpec("by3", ("BY3",), True,
              "population of urban areas and rural districts, 1 January of the newest year",
              keep_all=("BYER",), pick={"FOLKARTÆT": _population_value},
              municipality_from_labels="BYER", check_totals=True),
    TableSpec("ras", ("RAS301", "RAS300"), False,
              "employed persons (jobs) by municipality, newest year"),
    TableSpec("pend", ("PEND100", "PEND101"), False,
              "commuters by municipality, newest year"),
)


def municipalities() -> dict[str, str]:
    """The 19 municipalities (3-digit code -> name) of the shipped municipal table."""
    from .data import municipal_population

    m = municipal_population()
    pairs = m[["municipality_code", "municipality_name"]].drop_duplicates()
    return {f"{int(c):03d}": str(n) for c, n in zip(pairs["municipality_code"],
                                                    pairs["municipality_name"], strict=True)}


def _ascii(name: str) -> str:
    return (name.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa"))


def build_query(spec: TableSpec, info: TableInfo, munis: list[str]) -> dict:
    """The ``data`` request for ``spec`` from the table's metadata (rules in the module doc).

    Raises:
        RefreshError: A variable whose value cannot be chosen, or an area variable that lacks
            some of the municipalities.
    """
    variables, omitted = [], False
    keep = {k.upper() for k in spec.keep_all}
    pick = {k.upper(): f for k, f in spec.pick.items()}
    for v in info.variables:
        ids = set(v.ids)
        if v.time:
            if not v.ids:
                raise RefreshError(f"{info.id}: the time variable {v.id} has no values")
            sel = [max(v.ids)]
        elif v.id.upper() in keep:
            sel = ["*"]
        elif v.id.upper() in pick:
            sel = [pick[v.id.upper()](info, v)]
        elif len(set(munis) & ids) >= len(munis) // 2:
            lacking = [m for m in munis if m not in ids]
            if lacking:
                raise RefreshError(f"{info.id}: variable {v.id} ({v.text}) lacks municipality "
                                   f"code(s) {', '.join(lacking)}")
            sel = list(munis)
        else:
            tot = total_value(v)
            if tot is not None:
                sel = [tot]
            elif v.elimination:
                omitted = True
                continue
            else:
                raise RefreshError(
                    f"{info.id}: cannot choose a value of variable {v.id} ({v.text}): it has no "
                    "total and cannot be left out; values: "
                    + ", ".join(f"{i} '{t}'" for i, t in v.values[:8])
                    + (" ..." if len(v.values) > 8 else ""))
        variables.append({"code": v.id, "values": sel})
    return {"table": info.id, "format": "CSV" if omitted else "BULK", "lang": LANG,
            "valuePresentation": "Code", "variables": variables}


def _normalise(info: TableInfo, parsed: ParsedCsv, requested: list[str]) -> pd.DataFrame:
    """Rows as value ids (labels and ``code label`` forms mapped back), with the figure.

    Raises:
        RefreshError: A cell that is none of the variable's declared values.
    """
    out: dict[str, list[str]] = {}
    for j, col in enumerate(parsed.columns):
        var = info.variable(requested[j])
        ids = set(var.ids)
        by_label = {t: i for i, t in var.values}
        cells = []
        for line, row in enumerate(parsed.rows, start=2):
            c = row[j]
            if c in ids:
                cells.append(c)
            elif c in by_label:
                cells.append(by_label[c])
            elif c.split(" ", 1)[0] in ids:
                cells.append(c.split(" ", 1)[0])
            else:
                raise RefreshError(f"{info.id}: field {col} on data row {line - 1} is {c!r}, "
                                   f"which is not a value of {var.id} in tableinfo")
        out[col] = cells
    df = pd.DataFrame(out)
    df["value"] = parsed.values
    return df


# --------------------------------------------------------------------------- checks


def period_time(period: str) -> float:
    """A StatBank period as a year with fraction, at the first day of the period.

    ``2026`` and ``2026K1`` -> 2026.0, ``2026K3`` -> 2026.5, ``2026M04`` -> 2026.25.
    """
    m = _PERIOD.match(period)
    if not m:
        raise RefreshError(f"period {period!r} does not start with a year")
    quarter, month = m.group(2), m.group(3)
    frac = (int(quarter) - 1) / 4 if quarter else (int(month) - 1) / 12 if month else 0.0
    return int(m.group(1)) + frac


def plausible_change(reference: pd.DataFrame, time: float) -> tuple[int, int, float]:
    """Reference year, horizon and largest plausible relative change for figures at ``time``.

    ``time`` is a year with fraction (:func:`period_time`; the shipped figures are for 1
    January). The reference year is the shipped year nearest to it (the later one on a tie).
    The horizon ``n`` is the distance to it rounded up to whole years (at least 1). The bound is
    the largest absolute relative change over ``n`` years of any municipality in the shipped
    series (``n`` capped at the series length): the data's own record, no chosen tolerance.
    """
    wide = reference.pivot(index="year", columns="municipality_code",
                           values="population_1jan").sort_index()
    years = [int(y) for y in wide.index]
    ref = min(years, key=lambda y: (abs(y - time), -y))
    n = max(1, min(math.ceil(abs(time - ref) - 1e-9), len(years) - 1))
    change = (wide.shift(-n) / wide - 1.0).abs().to_numpy()
    return ref, n, float(pd.Series(change.ravel()).max())


def _check_plausible(table: str, totals: dict[str, float], year: float,
                     names: dict[str, str]) -> str:
    from .data import municipal_population

    reference = municipal_population()
    ref_year, n, bound = plausible_change(reference, year)
    ref = reference[reference["year"] == ref_year].set_index("municipality_code")
    bad = []
    for code, total in totals.items():
        old = float(ref.loc[int(code), "population_1jan"])
        rel = total / old - 1.0
        if abs(rel) > bound + 1e-12:
            bad.append(f"{code} {names[code]} {total:,.0f} vs {old:,.0f} in {ref_year} "
                       f"({rel:+.1%})")
    if bad:
        raise RefreshError(
            f"{table}: municipal totals implausible against the shipped "
            f"municipal_population_1993_2023.csv: {'; '.join(bad)}; the largest change over "
            f"{n} year(s) in the shipped series is {bound:.1%}. If DST's figures are right, "
            "rerun with --skip-plausibility")
    return (f"municipal totals within ±{bound:.1%} of the shipped {ref_year} figures (largest "
            f"{n}-year change in the shipped 1993-2023 series)")


def check(spec: TableSpec, info: TableInfo, df: pd.DataFrame, query: dict,
          names: dict[str, str], plausibility: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """Check one normalised table; return it (with ``municipality_code`` where derived).

    Raises:
        RefreshError: A check failed; the message names table and field.
    """
    munis = list(names)
    checks = ["columns as requested", "every figure a number or '..'",
              "every value id declared in tableinfo"]
    values = df["value"]
    if (values < 0).any():
        i = int((values < 0).to_numpy().argmax())
        raise RefreshError(f"{info.id}: field INDHOLD on data row {i + 1} is negative "
                           f"({values.iloc[i]}); counts cannot be")
    selected = {v["code"].upper(): v["values"] for v in query["variables"]}
    area_cols = [c for c, sel in selected.items() if sel == munis]
    if spec.municipality_from_labels:
        col = spec.municipality_from_labels.upper()
        labels = info.variable(col).labels
        by_label = [_TOWN_LABEL.match(labels.get(vid, "")) or _TOWN_LABEL.match(vid)
                    for vid in df[col]]
        if any(by_label):
            codes = [m.group(1) if m else "" for m in by_label]
            rule = f"the {col} labels ('KKK-NNNNN name', KKK = municipality code)"
        else:  # labels without the code: fall back to 8-digit ids KKKNNNNN
            codes = [m.group(1) if (m := _TOWN_ID.match(v)) else "" for v in df[col]]
            rule = f"the first 3 digits of the 8-digit {col} ids (labels carry no code)"
        df = df.assign(municipality_code=codes)
        df = df[df["municipality_code"].isin(munis)].reset_index(drop=True)
        area_cols = ["municipality_code"]
        checks.append(f"municipality taken from {rule}")
    if not area_cols:
        raise RefreshError(f"{info.id}: no variable holds the 19 municipalities")
    for col in area_cols:
        lacking = [m for m in munis if m not in set(df[col])]
        if lacking:
            raise RefreshError(
                f"{info.id}: field {col} lacks municipality "
                + ", ".join(f"{m} ({names[m]})" for m in lacking)
                + "; all 19 municipalities of Region Midtjylland are required")
    checks.append("all 19 municipalities present")
    n_missing = int(df["value"].isna().sum())
    if n_missing and not spec.check_totals:
        checks.append(f"{n_missing} figure(s) '..' (not available) kept as empty values")
    totals: dict[str, float] = {}
    if spec.key == "folk1a":
        totals = _check_folk1a(info, df)
        checks.append("sexes and ages add up to each municipality's total")
    elif spec.municipality_from_labels:
        if df["value"].isna().any():
            raise RefreshError(f"{info.id}: field INDHOLD is '..' (not available) for "
                               f"{int(df['value'].isna().sum())} urban area(s) of the region")
        totals = df.groupby("municipality_code")["value"].sum().to_dict()
        checks.append("municipal sums of urban areas and rural districts computed")
    if spec.check_totals:
        year = period_time(selected[info.time_variable.column][0])
        if plausibility:
            checks.append(_check_plausible(info.id, totals, year, names))
        else:
            checks.append("plausibility against the shipped data SKIPPED (--skip-plausibility)")
    return df, checks


def _check_folk1a(info: TableInfo, df: pd.DataFrame) -> dict[str, float]:
    sex, age, area = info.variable("KØN"), info.variable("ALDER"), info.variable("OMRÅDE")
    tot_sex, tot_age = total_value(sex), total_value(age)
    for var, tot in ((sex, tot_sex), (age, tot_age)):
        if tot is None:
            raise RefreshError(f"{info.id}: variable {var.id} has no total value in tableinfo")
    key = {k: df[k.column].to_numpy() for k in (sex, age, area)}
    value = df["value"].to_numpy()
    cell: dict[tuple[str, str, str], float] = {}
    for a, s, g, v in zip(key[area], key[sex], key[age], value, strict=True):
        if (a, s, g) in cell:
            raise RefreshError(f"{info.id}: more than one row for OMRÅDE={a}, KØN={s}, "
                               f"ALDER={g}")
        cell[(a, s, g)] = v
    by_sex, by_age = defaultdict(float), defaultdict(float)
    totals = {}
    for (a, s, g), v in cell.items():
        if math.isnan(v):
            raise RefreshError(f"{info.id}: field INDHOLD is '..' (not available) for "
                               f"OMRÅDE={a}, KØN={s}, ALDER={g}")
        if s != tot_sex and g == tot_age:
            by_sex[a] += v
        if s == tot_sex and g != tot_age:
            by_age[a] += v
        if s == tot_sex and g == tot_age:
            totals[a] = v
    for a in sorted(set(key[area])):
        if a not in totals:
            raise RefreshError(f"{info.id}: no total row (KØN={tot_sex}, ALDER={tot_age}) for "
                               f"OMRÅDE={a}")
        for what, part in (("sexes", by_sex), ("ages", by_age)):
            if a in part and part[a] != totals[a]:
                raise RefreshError(f"{info.id}: for OMRÅDE={a} the {what} add up to "
                                   f"{part[a]:,.0f}, the total row says {totals[a]:,.0f}")
    return totals


# --------------------------------------------------------------------------- fetch


@dataclass
class Fetched:
    """One table fetched, parsed and checked (nothing written yet)."""

    spec: TableSpec
    info: TableInfo
    query: dict
    period: str
    raw: bytes
    tableinfo_raw: bytes
    table: pd.DataFrame
    checks: list[str]
    retrieved_utc: str
    tried: list[str]

    @property
    def stem(self) -> str:
        """File name stem ``<TABLE>_<period>``."""
        return f"{self.info.id}_{self.period}"


def _fetch_one(client: StatbankClient, spec: TableSpec, table_id: str,
               names: dict[str, str], plausibility: bool) -> Fetched:
    info, info_raw = client.tableinfo(table_id, LANG)
    query = build_query(spec, info, list(names))
    requested = [v["code"] for v in query["variables"]]
    columns = [info.variable(c).column for c in requested]
    retrieved = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    raw = client.data(query)
    parsed = parse_data_csv(raw, info.id, columns, decimal=".")
    df = _normalise(info, parsed, requested)
    df, checks = check(spec, info, df, query, names, plausibility)
    period = next(v["values"][0] for v in query["variables"]
                  if info.variable(v["code"]).time)
    return Fetched(spec, info, query, period, raw, info_raw, df, checks, retrieved, [])


def _family_hint(client: StatbankClient, candidates: tuple[str, ...]) -> str:
    """Table ids at the API sharing the candidates' letter prefix (one ``tables`` request)."""
    prefix = re.match(r"[A-Z]+", candidates[0].upper())
    if not prefix:
        return ""
    try:
        raw = client.post("tables", {"lang": LANG, "format": "JSON"}, "tables")
        ids = sorted(str(t.get("id", "")) for t in json.loads(raw.decode("utf-8-sig"))
                     if str(t.get("id", "")).upper().startswith(prefix.group(0)))
    except (StatbankApiError, ValueError, AttributeError, TypeError):
        return ""
    return (f"; tables named {prefix.group(0)}* at the API: {', '.join(ids) or 'none'}")


def fetch(spec: TableSpec, client: StatbankClient, names: dict[str, str],
          table_id: str | None = None, plausibility: bool = True) -> Fetched:
    """Fetch, parse and check one table (the first candidate the API has).

    Raises:
        StatbankUnreachableError: The host cannot be reached.
        RefreshError: No candidate exists, or the data failed a check.
    """
    candidates = (table_id,) if table_id else spec.candidates
    why = []
    for tid in candidates:
        try:
            f = _fetch_one(client, spec, tid, names, plausibility)
        except StatbankApiError as e:
            why.append(f"{tid}: {e.message or 'refused'}"
                       f"{' (' + e.code + ')' if e.code else ''}")
            continue
        f.tried = why
        return f
    raise RefreshError(f"{spec.key}: no usable table at the API ({'; '.join(why)})"
                       + _family_hint(client, candidates)
                       + f"; give another id with --table {spec.key}=ID")


# --------------------------------------------------------------------------- write


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tidy_csv(f: Fetched) -> bytes:
    """The tidy file: per variable its value id and label, then the figure."""
    out = pd.DataFrame()
    for v in f.query["variables"]:
        var = f.info.variable(v["code"])
        name = _ascii(var.id)
        out[name] = f.table[var.column]
        out[f"{name}_text"] = f.table[var.column].map(var.labels)
    if "municipality_code" in f.table:
        out["municipality_code"] = f.table["municipality_code"]
    vals = f.table["value"]
    integral = vals.dropna().eq(vals.dropna().round()).all()
    out["value"] = vals.round().astype("Int64") if integral else vals
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


@dataclass
class Report:
    """What a refresh did."""

    fetched: list[dict] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)


def _sources_block(prov: dict) -> str:
    lines = [SOURCES_BEGIN, "",
             f"Last refresh: {prov.get('last_refresh_utc', '?')} from {prov.get('base_url', '?')}"
             " (details, hashes and checks in `refresh/PROVENANCE.json`).", "",
             "| key | table | period | file | rows | table updated | retrieved (UTC) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for key, t in sorted(prov.get("tables", {}).items()):
        lines.append(f"| {key} | {t['table']} | {t['period']} | `{t['file']}` | {t['rows']:,} "
                     f"| {t['table_updated']} | {t['retrieved_utc']} |")
    for key, why in sorted(prov.get("unavailable", {}).items()):
        lines.append(f"| {key} | not available | | | | | {why} |")
    lines += ["", SOURCES_END]
    return "\n".join(lines)


def read_sources(path: Path) -> str:
    """The text of ``SOURCES.md`` ("" if there is none).

    Raises:
        RefreshError: It is not a UTF-8 text file (see :func:`sim.infra.read_text`).
    """
    if not os.path.lexists(path):
        return ""
    try:
        return read_text(path, what="sources file", max_bytes=MAX_MANIFEST_BYTES,
                         fix="give a data folder whose SOURCES.md is a text file")
    except InputFileError as e:
        raise RefreshError(str(e)) from None


def update_sources(path: Path, prov: dict, text: str | None = None) -> None:
    """Replace the generated block of ``SOURCES.md`` (append it if absent); rest untouched.

    Args:
        path: The file.
        prov: The provenance record the block is made from.
        text: The file's current text (default: read it).
    """
    block = _sources_block(prov)
    text = read_sources(path) if text is None else text
    if SOURCES_BEGIN in text and SOURCES_END in text:
        head, rest = text.split(SOURCES_BEGIN, 1)
        tail = rest.split(SOURCES_END, 1)[1]
        new = head + block + tail
    else:
        new = (text.rstrip("\n") + "\n\n" if text else "") + block + "\n"
    atomic_write(path, new.encode("utf-8"))


def write(fetched: list[Fetched], unavailable: dict[str, str], out_dir: Path,
          base_url: str, plausibility: bool) -> list[Path]:
    """Write tables, raw answers, PROVENANCE.json and the SOURCES.md block (each atomic)."""
    folder = out_dir / REFRESH_DIR
    prov_path = folder / PROVENANCE_FILE
    prov = {}
    if prov_path.exists():
        try:
            prov = read_json(prov_path, what="provenance file", fix="move it away and rerun")
        except InputFileError as e:
            raise RefreshError(str(e)) from None
        if not isinstance(prov, dict) or not isinstance(prov.get("tables", {}), dict) \
                or not isinstance(prov.get("unavailable", {}), dict):
            raise RefreshError(f"{prov_path}: not a provenance record written by `landsim data "
                               "refresh` (a JSON object with 'tables'); move it away and rerun")
    sources = read_sources(out_dir / "SOURCES.md")  # before anything is written
    tables = dict(prov.get("tables", {}))
    written = []
    for f in fetched:
        tidy = tidy_csv(f)
        files = {f"{f.stem}.csv": tidy, f"raw/{f.stem}.statbank.csv": f.raw,
                 f"raw/{f.info.id}_tableinfo.json": f.tableinfo_raw}
        for rel, data in files.items():
            atomic_write(folder / rel, data)
            written.append(folder / rel)
        tables[f.spec.key] = {
            "table": f.info.id, "title": f.info.text, "unit": f.info.unit,
            "what": f.spec.what, "period": f.period,
            "url": f"{base_url}/data", "method": "POST", "query": f.query,
            "tableinfo_url": f"{base_url}/tableinfo",
            "tableinfo_query": {"table": f.info.id, "format": "JSON", "lang": LANG},
            "retrieved_utc": f.retrieved_utc, "table_updated": f.info.updated,
            "file": f"{REFRESH_DIR}/{f.stem}.csv", "sha256": _sha256(tidy),
            "rows": len(f.table),
            "raw_file": f"{REFRESH_DIR}/raw/{f.stem}.statbank.csv",
            "raw_sha256": _sha256(f.raw), "raw_bytes": len(f.raw),
            "tableinfo_file": f"{REFRESH_DIR}/raw/{f.info.id}_tableinfo.json",
            "tableinfo_sha256": _sha256(f.tableinfo_raw),
            "candidates_not_available": f.tried, "checks": f.checks,
            "licence": "CC BY 4.0, source: Statistics Denmark (Danmarks Statistik)",
        }
    keep_unavailable = dict(prov.get("unavailable", {}))
    keep_unavailable.update(unavailable)
    for f in fetched:
        keep_unavailable.pop(f.spec.key, None)
    prov = {
        "generated_by": "landsim data refresh", "landsim_version": __version__,
        "base_url": base_url,
        "last_refresh_utc": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "plausibility_checked": plausibility,
        "note": "Not read by the model; the shipped base files in data/ are unchanged.",
        "tables": tables, "unavailable": keep_unavailable,
    }
    atomic_write(prov_path, (json.dumps(prov, indent=2, ensure_ascii=False) + "\n")
                  .encode("utf-8"))
    written.append(prov_path)
    update_sources(out_dir / "SOURCES.md", prov, sources)
    written.append(out_dir / "SOURCES.md")
    return written


# --------------------------------------------------------------------------- entry points


def resolve_base_url(base_url: str | None = None) -> str:
    """``base_url``, else ``$LANDSIM_STATBANK_URL``, else the public API."""
    return (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")


def select_specs(keys: list[str] | None) -> list[TableSpec]:
    """The specs named by ``keys`` (all if None).

    Raises:
        RefreshError: An unknown key (the message lists the known ones).
    """
    known = {s.key: s for s in SPECS}
    if not keys:
        return list(SPECS)
    bad = [k for k in keys if k not in known]
    if bad:
        raise RefreshError(f"unknown table key(s) {', '.join(bad)}; known: {', '.join(known)}")
    return [known[k] for k in keys]


def plan(specs: list[TableSpec], base_url: str, out_dir: Path,
         overrides: dict[str, str] | None = None) -> list[str]:
    """What a refresh would fetch and write (no network)."""
    overrides = overrides or {}
    lines = [f"would fetch from {base_url} (tableinfo, then data; lang={LANG}, "
             "valuePresentation=Code) for the 19 municipalities of Region Midtjylland:"]
    for s in specs:
        ids = (overrides[s.key],) if s.key in overrides else s.candidates
        sel = []
        if s.keep_all:
            sel.append(", ".join(s.keep_all) + " at every value")
        if s.pick:
            sel.append(", ".join(s.pick) + " at the population value")
        sel.append("variables holding the 19 municipality codes at those codes; time at the "
                   "newest period; other variables at their total")
        need = "required" if s.required else "optional"
        lines.append(f"  {s.key:7s} {' or '.join(ids):16s} {need}: {s.what}")
        lines.append(f"          {'; '.join(sel)}")
        lines.append(f"          -> {out_dir / REFRESH_DIR}/{ids[0]}_<period>.csv (+ raw/)")
    lines.append(f"and update {out_dir / REFRESH_DIR / PROVENANCE_FILE} and the generated block "
                 f"of {out_dir / 'SOURCES.md'}; nothing else in {out_dir} is touched")
    return lines


def refresh(out_dir: Path, *, keys: list[str] | None = None, base_url: str | None = None,
            timeout: float = 30.0, overrides: dict[str, str] | None = None,
            plausibility: bool = True) -> Report:
    """Fetch, check and write the newest tables (see the module docstring).

    Args:
        out_dir: The data folder (``refresh/`` and ``SOURCES.md`` in it are written).
        keys: Table keys to refresh (default all of :data:`SPECS`).
        base_url: The API's address (default ``$LANDSIM_STATBANK_URL`` or the public API).
        timeout: Seconds per request.
        overrides: Table id per key, replacing the candidates.
        plausibility: Check municipal totals against the shipped data.

    Returns:
        What was fetched, what was not available, which files were written.

    Raises:
        StatbankUnreachableError: The host cannot be reached (nothing written).
        RefreshError: A required table is missing or failed a check (nothing written).
    """
    specs = select_specs(keys)
    overrides = overrides or {}
    unknown = [k for k in overrides if k not in {s.key for s in SPECS}]
    if unknown:
        raise RefreshError(f"--table names unknown key(s) {', '.join(unknown)}; known: "
                           f"{', '.join(s.key for s in SPECS)}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise RefreshError(f"{out_dir}: not a folder; give the data folder to write into "
                           "(--out DATA)")
    url = resolve_base_url(base_url)
    client = StatbankClient(url, timeout)
    names = municipalities()
    report = Report()
    fetched = []
    for s in specs:
        try:
            f = fetch(s, client, names, overrides.get(s.key), plausibility)
        except RefreshError as e:
            if s.required:
                raise
            log.info("%s", e)
            report.unavailable[s.key] = str(e)
            continue
        fetched.append(f)
        report.fetched.append({"key": s.key, "table": f.info.id, "period": f.period,
                               "rows": len(f.table), "updated": f.info.updated,
                               "file": f"{REFRESH_DIR}/{f.stem}.csv",
                               "not_available": f.tried})
    report.written = write(fetched, report.unavailable, Path(out_dir), url, plausibility)
    return report
