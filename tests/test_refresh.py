"""Tests of ``landsim data refresh`` (sim/statbank.py, sim/refresh.py).

The fixtures in tests/data/statbank_* are in the StatBank API's documented format (see
tests/data/statbank_README.md for what each holds and which figures are real). A local
http.server in a thread stands in for api.statbank.dk, so the whole online path runs
without the internet; the offline path points the base URL at a closed local port.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from sim import data as shipped
from sim.cli import main
from sim.refresh import (
    EXIT_OFFLINE,
    PROVENANCE_FILE,
    SOURCES_BEGIN,
    SOURCES_END,
    SPECS,
    build_query,
    period_time,
    plausible_change,
    refresh,
    total_value,
)
from sim.statbank import (
    RefreshError,
    StatbankClient,
    StatbankUnreachableError,
    parse_data_csv,
    parse_number,
    parse_tableinfo,
)

FIX = Path(__file__).parent / "data"
SPEC = {s.key: s for s in SPECS}
FOLK1A_COLS = ["OMRÅDE", "KØN", "ALDER", "CIVILSTAND", "TID"]


def _info(table: str):
    return parse_tableinfo((FIX / f"statbank_tableinfo_{table}.json").read_bytes(), table)


def _names() -> dict[str, str]:
    from sim.refresh import municipalities
    return municipalities()


# ----------------------------------------------------------------------------- fake API


class _Api(BaseHTTPRequestHandler):
    """POST /v1/{tableinfo,data,tables}: serve tests/data/statbank_* like the real API."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        fn = self.path.rstrip("/").rsplit("/", 1)[-1]
        table = str(body.get("table", ""))
        self.server.requests.append((fn, body))
        status, payload = 200, None
        if (fn, table) in self.server.overrides:
            status, payload = self.server.overrides[(fn, table)]
        elif fn == "tableinfo" and (FIX / f"statbank_tableinfo_{table}.json").exists():
            payload = (FIX / f"statbank_tableinfo_{table}.json").read_bytes()
        elif fn == "data" and (FIX / f"statbank_{table}.csv").exists():
            payload = (FIX / f"statbank_{table}.csv").read_bytes()
        elif fn == "tables":
            payload = (FIX / "statbank_tables.json").read_bytes()
        else:
            status = 400
            payload = json.dumps({"errorTypeCode": "TABLE-NOTFOUND",
                                  "message": f"Table {table} not found"}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    server.requests, server.overrides = [], {}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def out(tmp_path):
    """A data folder with a copy of the shipped SOURCES.md and one shipped base file."""
    d = tmp_path / "data"
    d.mkdir()
    shutil.copy(shipped.data_dir() / "SOURCES.md", d / "SOURCES.md")
    shutil.copy(shipped.data_dir() / "municipal_population_1993_2023.csv", d)
    return d


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _folk1a_without(code: str) -> bytes:
    lines = (FIX / "statbank_FOLK1A.csv").read_bytes().split(b"\r\n")
    return b"\r\n".join(ln for ln in lines if not ln.startswith(code.encode() + b";"))


def _files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- parser


def test_parser_reads_the_documented_csv_format():
    """Rule: a BULK/CSV answer (UTF-8 with BOM, ';', header of variable codes + INDHOLD, CRLF)
    parses into key columns and figures; the BOM does not leak into the first column name."""
    raw = (FIX / "statbank_FOLK1A.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    p = parse_data_csv(raw, "FOLK1A", FOLK1A_COLS)
    assert p.columns == FOLK1A_COLS and p.header[0] == "OMRÅDE"
    assert len(p.rows) == 19 * 3 * 111 and p.missing == 0
    cell = dict(zip(p.rows, p.values, strict=True))
    # Aarhus on 1 January 2014 (SOURCES.md: equals the noegletal figure 323,893)
    assert cell[("751", "TOT", "IALT", "TOT", "2014K1")] == 323_893


def test_numbers_follow_the_language_decimal_mark_and_dots_mean_missing():
    """Rule: '..' is DST's 'not available' (NaN); with lang=en the decimal mark is '.', with
    da ','; thousands separators are refused, never guessed."""
    assert math.isnan(parse_number(".."))
    assert parse_number("37.7") == 37.7 and parse_number("-3") == -3
    assert parse_number("37,7", decimal=",") == 37.7
    for bad, dec in (("1,234", "."), ("1.234", ","), ("12 345", "."), ("", "."), ("x", ".")):
        with pytest.raises(ValueError):
            parse_number(bad, dec)


def test_missing_column_is_named_with_the_table():
    """Rule: an answer without an expected column stops with a message naming the table, the
    missing column and the header it got."""
    with pytest.raises(RefreshError,
                       match=r"^FOLK1A: column 'INDHOLD' is missing .*OMRÅDE;KØN;TID"):
        parse_data_csv((FIX / "statbank_bad_missing_column.csv").read_bytes(), "FOLK1A",
                       ["OMRÅDE", "KØN", "TID"])
    with pytest.raises(RefreshError, match=r"FOLK1A: column 'BYER' is missing"):
        parse_data_csv((FIX / "statbank_FOLK1A.csv").read_bytes(), "FOLK1A", ["BYER", "TID"])


def test_non_numeric_figure_names_table_field_line_and_cell():
    """Rule: a figure that is not a number names the table, field INDHOLD, the line and the
    row's keys."""
    with pytest.raises(RefreshError, match=r"FOLK1A: field INDHOLD on line 3 \(OMRÅDE=751, "
                       r"KØN=2, TID=2014K1\) is '16x234', not a number"):
        parse_data_csv((FIX / "statbank_bad_nonnumeric.csv").read_bytes(), "FOLK1A",
                       ["OMRÅDE", "KØN", "TID"])


def test_wrong_row_length_and_empty_answers_are_refused():
    """Rule: a row with more or fewer fields than the header, an empty answer and a header
    without rows are errors naming the table."""
    with pytest.raises(RefreshError, match="BY3: line 2 has 3 fields, the header 4"):
        parse_data_csv("BYER;FOLKARTÆT;TID;INDHOLD\n1;BEF;2021\n", "BY3",
                       ["BYER", "FOLKARTÆT", "TID"])
    with pytest.raises(RefreshError, match="BY3: the answer is empty"):
        parse_data_csv(b"", "BY3", ["BYER"])
    with pytest.raises(RefreshError, match="BY3: the answer has a header but no rows"):
        parse_data_csv("BYER;INDHOLD\r\n", "BY3", ["BYER"])


def test_tableinfo_fields_are_checked():
    """Rule: tableinfo must be JSON with id, updated and variables (each with values); a
    missing field is named."""
    info = _info("FOLK1A")
    assert info.updated == "2014-02-11T08:00:00" and info.time_variable.id == "Tid"
    assert info.variable("område").column == "OMRÅDE"
    with pytest.raises(RefreshError, match="X: tableinfo field 'variables' is missing"):
        parse_tableinfo({"id": "X", "updated": "2020"}, "X")
    with pytest.raises(RefreshError, match=r"X: tableinfo field 'variables\[0\].values' is"):
        parse_tableinfo({"id": "X", "updated": "2020", "variables": [{"id": "A"}]}, "X")
    with pytest.raises(RefreshError, match="X: tableinfo is not JSON"):
        parse_tableinfo(b"<html>", "X")
    with pytest.raises(RefreshError, match="FOLK1A: the table has no variable 'BYER'"):
        info.variable("BYER")


def test_labels_instead_of_codes_are_mapped_back_to_value_ids():
    """Rule: if the API answers with labels (valuePresentation Value) or 'code label', the
    cells are mapped back to the tableinfo ids; the figures are unchanged."""
    from sim.refresh import _normalise

    info = _info("FOLK1A")
    text = ("OMRÅDE;KØN;ALDER;CIVILSTAND;TID;INDHOLD\n"
            "Aarhus;Men;Age, total;Total;2014Q1;1\n"
            "751 Aarhus;2 Women;0 years;TOT;2014K1;2\n")
    cols = ["OMRÅDE", "KØN", "ALDER", "CIVILSTAND", "Tid"]
    df = _normalise(info, parse_data_csv(text, "FOLK1A", FOLK1A_COLS), cols)
    assert df.values.tolist() == [["751", "1", "IALT", "TOT", "2014K1", 1.0],
                                  ["751", "2", "0", "TOT", "2014K1", 2.0]]


# ----------------------------------------------------------------------------- queries


def test_folk1a_query_takes_region_every_sex_and_age_totals_elsewhere_newest_quarter():
    """Rule: OMRÅDE at the 19 municipality codes, KØN and ALDER at '*', CIVILSTAND at its
    total, Tid at the newest value; BULK (every variable given), lang en, codes."""
    q = build_query(SPEC["folk1a"], _info("FOLK1A"), list(_names()))
    sel = {v["code"]: v["values"] for v in q["variables"]}
    assert sel == {"OMRÅDE": sorted(_names()), "KØN": ["*"], "ALDER": ["*"],
                   "CIVILSTAND": ["TOT"], "Tid": ["2014K1"]}
    assert (q["table"], q["format"], q["lang"], q["valuePresentation"]) == \
        ("FOLK1A", "BULK", "en", "Code")


def test_variable_without_total_is_left_out_when_the_api_may_sum_it():
    """Rule: a variable with no total value but elimination=true is left out (the API sums
    over it) and the request switches from BULK to CSV; without elimination it is an error
    naming the variable."""
    info = _info("RAS301")
    q = build_query(SPEC["ras"], info, list(_names()))
    assert [v["code"] for v in q["variables"]] == ["OMRÅDE", "ALDER", "KØN", "Tid"]
    assert q["format"] == "CSV"
    raw = json.loads((FIX / "statbank_tableinfo_RAS301.json").read_text(encoding="utf-8"))
    raw["variables"][1]["elimination"] = False
    with pytest.raises(RefreshError, match="RAS301: cannot choose a value of variable "
                       "BRANCHE07"):
        build_query(SPEC["ras"], parse_tableinfo(raw, "RAS301"), list(_names()))


def test_by3_takes_the_population_value_not_area_or_density():
    """Rule: BY3's FOLKARTÆT is fetched at the population value; 'Population density' and
    'Area' are not population."""
    q = build_query(SPEC["by3"], _info("BY3"), list(_names()))
    sel = {v["code"]: v["values"] for v in q["variables"]}
    assert sel == {"BYER": ["*"], "FOLKARTÆT": ["BEF"], "Tid": ["2021"]}


def test_total_value_recognises_dst_total_labels():
    """Rule: totals are found by id (TOT, IALT) or label (Total, Age, total, I alt)."""
    info = _info("FOLK1A")
    assert total_value(info.variable("ALDER")) == "IALT"
    assert total_value(info.variable("KØN")) == "TOT"
    assert total_value(info.variable("Tid")) is None


def test_plausible_change_is_the_shipped_series_record():
    """Rule: the bound for a horizon of n years is the largest |P(t+n)/P(t)-1| of any of the
    19 municipalities in the shipped 1993-2023 series; the reference is the same year when
    shipped, else the nearest shipped year."""
    ref = shipped.municipal_population()
    wide = ref.pivot(index="year", columns="municipality_code", values="population_1jan")
    brute = max(abs(wide.loc[t + 3, c] / wide.loc[t, c] - 1)
                for t in range(1993, 2021) for c in wide.columns)
    assert plausible_change(ref, 2026) == (2023, 3, pytest.approx(brute))
    year, n, bound = plausible_change(ref, 2014)
    assert (year, n) == (2014, 1) and bound < brute
    assert plausible_change(ref, period_time("2026K4"))[:2] == (2023, 4)  # 3.75 years -> 4
    assert plausible_change(ref, period_time("2014K3"))[:2] == (2015, 1)  # tie: later year


def test_period_time_reads_years_quarters_and_months():
    """Rule: StatBank periods map to the first day of the period as a fractional year."""
    assert period_time("2021") == 2021.0 and period_time("2026K1") == 2026.0
    assert period_time("2026K3") == 2026.5 and period_time("2026M04") == 2026.25
    with pytest.raises(RefreshError, match="does not start with a year"):
        period_time("K1")


# ----------------------------------------------------------------------------- end to end


def test_refresh_end_to_end_against_a_local_fake_api(api, out):
    """Rule: online, refresh fetches tableinfo then data for each table, checks them, and
    writes the tidy tables, the raw answers byte-for-byte, PROVENANCE.json (URL, query, time,
    the table's updated stamp, SHA-256, rows) and the SOURCES.md block; a table that does not
    exist is reported as such; the shipped files and the rest of SOURCES.md are unchanged."""
    before_sources = (out / "SOURCES.md").read_text(encoding="utf-8")
    base_file = (out / "municipal_population_1993_2023.csv").read_bytes()
    report = refresh(out, base_url=api.url)
    assert [f["key"] for f in report.fetched] == ["folk1a", "by3", "ras"]
    assert "PEND100: Table PEND100 not found (TABLE-NOTFOUND)" in report.unavailable["pend"]
    assert "PEND101" in report.unavailable["pend"]
    assert "tables named PEND* at the API: none" in report.unavailable["pend"]

    prov = json.loads((out / "refresh" / PROVENANCE_FILE).read_text(encoding="utf-8"))
    f = prov["tables"]["folk1a"]
    assert f["table"] == "FOLK1A" and f["period"] == "2014K1"
    assert f["url"] == f"{api.url}/data" and f["table_updated"] == "2014-02-11T08:00:00"
    assert f["query"]["variables"][3] == {"code": "CIVILSTAND", "values": ["TOT"]}
    assert f["retrieved_utc"].endswith("+00:00")
    tidy = (out / f["file"]).read_bytes()
    assert hashlib.sha256(tidy).hexdigest() == f["sha256"]
    assert (out / f["raw_file"]).read_bytes() == (FIX / "statbank_FOLK1A.csv").read_bytes()
    assert f["raw_sha256"] == hashlib.sha256((FIX / "statbank_FOLK1A.csv").read_bytes()).hexdigest()
    t = pd.read_csv(out / f["file"], dtype=str)
    assert f["rows"] == len(t) == 19 * 3 * 111
    assert list(t.columns) == ["omraade", "omraade_text", "koen", "koen_text", "alder",
                               "alder_text", "civilstand", "civilstand_text", "tid", "tid_text",
                               "value"]
    row = t[(t.omraade == "751") & (t.koen == "TOT") & (t.alder == "IALT")].iloc[0]
    assert (row.omraade_text, row.value) == ("Aarhus", "323893")

    b = prov["tables"]["by3"]
    by3 = pd.read_csv(out / b["file"], dtype={"municipality_code": str, "byer": str})
    assert set(by3.municipality_code) == set(_names())  # 621 (outside) and 000 dropped
    sums = by3.groupby("municipality_code")["value"].sum()
    m = shipped.municipal_population()
    m21 = m[m.year == 2021].set_index("municipality_code")["population_1jan"]
    assert all(sums[c] == m21[int(c)] for c in _names())  # fixture sums = shipped 2021 totals
    assert any("within ±" in c for c in b["checks"])
    assert prov["tables"]["ras"]["query"]["format"] == "CSV"
    assert "pend" in prov["unavailable"] and prov["plausibility_checked"] is True

    text = (out / "SOURCES.md").read_text(encoding="utf-8")
    assert text.split(SOURCES_BEGIN)[0] == before_sources.split(SOURCES_BEGIN)[0]
    assert text.split(SOURCES_END)[1] == before_sources.split(SOURCES_END)[1]
    block = text.split(SOURCES_BEGIN)[1].split(SOURCES_END)[0]
    assert "No refresh yet" in before_sources and "No refresh yet" not in block
    assert "| folk1a | FOLK1A | 2014K1 | `refresh/FOLK1A_2014K1.csv` | 6,327 |" in block
    assert (out / "municipal_population_1993_2023.csv").read_bytes() == base_file
    fns = [fn for fn, _ in api.requests]
    assert fns[:4] == ["tableinfo", "data", "tableinfo", "data"]


def test_second_refresh_replaces_its_block_and_keeps_one_entry_per_table(api, out):
    """Rule: refreshing again updates PROVENANCE.json and the SOURCES.md block in place (one
    block, one entry per key), and identical answers give identical files."""
    refresh(out, base_url=api.url, keys=["folk1a"])
    first = (out / "refresh" / "FOLK1A_2014K1.csv").read_bytes()
    refresh(out, base_url=api.url, keys=["folk1a", "by3"])
    text = (out / "SOURCES.md").read_text(encoding="utf-8")
    assert text.count(SOURCES_BEGIN) == 1 and text.count(SOURCES_END) == 1
    prov = json.loads((out / "refresh" / PROVENANCE_FILE).read_text(encoding="utf-8"))
    assert sorted(prov["tables"]) == ["by3", "folk1a"]
    assert (out / "refresh" / "FOLK1A_2014K1.csv").read_bytes() == first


def test_missing_municipality_stops_and_writes_nothing(api, out):
    """Rule: if a municipality is absent the refresh stops naming table, field and
    municipality, and writes nothing (CLI exit 2)."""
    api.overrides[("data", "FOLK1A")] = (200, _folk1a_without("741"))
    before = _files(out)
    with pytest.raises(RefreshError, match=r"FOLK1A: field OMRÅDE lacks municipality 741 "
                       r"\(Samsø\)"):
        refresh(out, base_url=api.url)
    assert main(["data", "refresh", "--out", str(out), "--base-url", api.url]) == 2
    assert _files(out) == before


@pytest.mark.parametrize("name,blob,needle", [
    ("refresh/PROVENANCE.json", '{"tables": {}}'.encode("utf-16"), "saved as UTF-16"),
    ("refresh/PROVENANCE.json", b"[1, 2]", "not a provenance record"),
    ("refresh/PROVENANCE.json", b"{" * 5000, "not valid JSON"),
    ("SOURCES.md", "# Kilder: Ærø\n".encode("latin-1"), "looks like Latin-1"),
    ("SOURCES.md", bytes(range(256)), "a binary file")])
def test_unreadable_provenance_or_sources_stop_before_anything_is_written(
        api, out, capsys, name, blob, needle):
    """Rule: a PROVENANCE.json or SOURCES.md that is not UTF-8 JSON/text (or not a
    provenance record) stops the refresh with one line naming the file, exit 2, before any
    table is written."""
    target = out / name
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(blob)
    before = _files(out)
    assert main(["data", "refresh", "--out", str(out), "--base-url", api.url]) == 2
    err = capsys.readouterr().err
    assert str(target) in err and needle in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert _files(out) == before


def test_ages_that_do_not_add_up_are_refused(api, out):
    """Rule: FOLK1A's ages must add up to each municipality's total."""
    raw = (FIX / "statbank_FOLK1A.csv").read_bytes().replace(
        b"751;TOT;30;TOT;2014K1;", b"751;TOT;30;TOT;2014K1;1")
    api.overrides[("data", "FOLK1A")] = (200, raw)
    with pytest.raises(RefreshError, match="FOLK1A: for OMRÅDE=751 the ages add up to"):
        refresh(out, base_url=api.url, keys=["folk1a"])
    assert not (out / "refresh").exists()


def test_value_not_declared_in_tableinfo_is_refused(api, out):
    """Rule: a key cell that is none of the variable's tableinfo values is an error naming
    table and field."""
    raw = (FIX / "statbank_FOLK1A.csv").read_bytes().replace(b"\r\n741;", b"\r\n999;", 1)
    api.overrides[("data", "FOLK1A")] = (200, raw)
    with pytest.raises(RefreshError, match=r"FOLK1A: field OMRÅDE on data row \d+ is '999'"):
        refresh(out, base_url=api.url, keys=["folk1a"])


def test_implausible_totals_are_refused_unless_skipped(api, out):
    """Rule: municipal totals outside the shipped series' record change are refused, naming
    the municipality and the bound; --skip-plausibility accepts them and records that."""
    lines = (FIX / "statbank_BY3.csv").read_bytes().decode("utf-8").split("\r\n")
    lines = [f"75199999;BEF;2021;{2 * int(ln.rsplit(';', 1)[1])}" if ln.startswith("75199999")
             else ln for ln in lines]
    api.overrides[("data", "BY3")] = (200, "\r\n".join(lines).encode("utf-8"))
    with pytest.raises(RefreshError, match=r"BY3: municipal totals implausible .*751 Aarhus.*"
                       r"--skip-plausibility"):
        refresh(out, base_url=api.url, keys=["by3"])
    refresh(out, base_url=api.url, keys=["by3"], plausibility=False)
    prov = json.loads((out / "refresh" / PROVENANCE_FILE).read_text(encoding="utf-8"))
    assert prov["plausibility_checked"] is False
    assert any("SKIPPED" in c for c in prov["tables"]["by3"]["checks"])


def test_required_table_that_does_not_exist_stops_the_refresh(api, out):
    """Rule: a required table the API does not have stops everything with the API's message
    (exit 2), while an optional one is only reported."""
    api.overrides[("tableinfo", "BY3")] = (400, json.dumps(
        {"errorTypeCode": "TABLE-NOTFOUND", "message": "Table BY3 not found"}).encode())
    with pytest.raises(RefreshError, match=r"by3: no usable table at the API \(BY3: Table "
                       r"BY3 not found \(TABLE-NOTFOUND\)\).*--table by3=ID"):
        refresh(out, base_url=api.url)
    assert not (out / "refresh").exists()


def test_by3_municipality_falls_back_to_the_id_when_labels_carry_no_code(api, out):
    """Rule: when BY3's labels are plain names, the municipality is the first 3 digits of the
    8-digit id, the provenance says so, and the plausibility check still guards the sums."""
    raw = json.loads((FIX / "statbank_tableinfo_BY3.json").read_text(encoding="utf-8"))
    for v in raw["variables"][0]["values"]:
        v["text"] = v["text"].split(" ", 1)[1]
    api.overrides[("tableinfo", "BY3")] = (200, json.dumps(raw).encode("utf-8"))
    refresh(out, base_url=api.url, keys=["by3"])
    prov = json.loads((out / "refresh" / PROVENANCE_FILE).read_text(encoding="utf-8"))
    assert any("first 3 digits" in c for c in prov["tables"]["by3"]["checks"])
    assert any("within ±" in c for c in prov["tables"]["by3"]["checks"])


def test_table_override_uses_the_given_id(api, out):
    """Rule: --table KEY=ID replaces the candidates of KEY: only that id is asked for, and an
    optional table that does not exist is reported, not fatal."""
    report = refresh(out, base_url=api.url, keys=["ras"], overrides={"ras": "RAS301"})
    assert report.fetched[0]["table"] == "RAS301"
    api.requests.clear()
    report = refresh(out, base_url=api.url, keys=["ras"], overrides={"ras": "RAS999"})
    assert report.fetched == [] and "RAS999: Table RAS999 not found" in report.unavailable["ras"]
    asked = [b["table"] for fn, b in api.requests if fn == "tableinfo"]
    assert asked == ["RAS999"]


# ----------------------------------------------------------------------------- offline, CLI


def test_offline_says_so_in_one_line_exits_3_and_writes_nothing(out, capsys, monkeypatch):
    """Rule: when the host cannot be reached the CLI prints one line naming the host, exits
    with status 3, prints no traceback and writes nothing."""
    port = _closed_port()
    monkeypatch.setenv("LANDSIM_STATBANK_URL", f"http://127.0.0.1:{port}/v1")
    before = _files(out)
    assert main(["data", "refresh", "--out", str(out)]) == EXIT_OFFLINE == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"cannot reach 127.0.0.1:{port} (connection refused)" in err
    assert _files(out) == before


def test_server_errors_count_as_unreachable(api):
    """Rule: HTTP 5xx from the API is reported as the host being unavailable, not as bad
    data."""
    api.overrides[("tableinfo", "FOLK1A")] = (503, b"busy")
    with pytest.raises(StatbankUnreachableError, match="HTTP 503"):
        StatbankClient(api.url, timeout=5).tableinfo("FOLK1A")


def test_dry_run_shows_the_plan_without_network_or_files(out, capsys, monkeypatch):
    """Rule: --dry-run lists tables, candidates and target files, contacts nobody (the base
    URL points at a closed port) and writes nothing."""
    monkeypatch.setenv("LANDSIM_STATBANK_URL", f"http://127.0.0.1:{_closed_port()}/v1")
    before = _files(out)
    assert main(["data", "refresh", "--dry-run", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for word in ("FOLK1A", "BY3", "RAS301 or RAS300", "PEND100 or PEND101", "PROVENANCE.json"):
        assert word in text
    assert _files(out) == before


@pytest.mark.parametrize("argv, message", [
    (["--tables", "folk1a,nope"], "unknown table key(s) nope"),
    (["--table", "ras"], "--table takes KEY=ID"),
    (["--tables", "folk1a", "--table", "ras=RAS301"], "not refreshed"),
])
def test_bad_arguments_exit_2_with_one_message(argv, message, out, capsys):
    """Rule: bad refresh arguments give one message line and exit status 2."""
    assert main(["data", "refresh", "--dry-run", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_data_without_subcommand_exits_2(capsys):
    """Rule: 'landsim data' alone names the subcommand to use and exits 2."""
    assert main(["data"]) == 2 and "refresh" in capsys.readouterr().err


def test_bad_timeout_is_an_argument_error(capsys):
    """Rule: a non-positive --timeout is refused by the parser with exit status 2."""
    with pytest.raises(SystemExit) as e:
        main(["data", "refresh", "--timeout", "0"])
    assert e.value.code == 2 and "--timeout must be positive" in capsys.readouterr().err
