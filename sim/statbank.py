"""Client and parsers for Statistics Denmark's public StatBank API (``api.statbank.dk/v1``).

The API (documented at https://www.dst.dk/en/Statistik/brug-statistikken/
muligheder-i-statistikbanken/api) has four functions; landsim uses two:

* ``tableinfo``: a table's metadata as JSON: ``id``, ``text``, ``unit``, ``updated`` (the
  table's last-updated stamp) and ``variables``, each with ``id``, ``text``, ``elimination``
  (may be left out of a request), ``time`` and ``values`` (``id``/``text`` pairs).
* ``data``: the figures. A request is a JSON object ``{"table", "format", "lang",
  "valuePresentation", "variables": [{"code", "values"}]}`` POSTed to ``/v1/data``. With
  ``format`` ``"BULK"`` (every variable given) or ``"CSV"`` the answer is UTF-8 text with a
  byte-order mark, fields separated by ``;``, a header of the variables' codes in capitals
  (the time variable ``Tid`` becomes ``TID``) followed by ``INDHOLD`` (the figure), one row
  per cell. With ``lang`` ``"en"`` the decimal mark is ``.`` (``"da"``: ``,``); ``..`` marks a
  figure that is not available or is confidential. With ``valuePresentation`` ``"Code"`` the
  variable columns hold value ids (labels come from ``tableinfo``).

Errors come back as HTTP 400 with a JSON body ``{"errorTypeCode": ..., "message": ...}``.

This module only talks to the API and parses what it returns; what to fetch and how to check
it is :mod:`sim.refresh`. It logs through :mod:`logging` and prints nothing.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from . import __version__

log = logging.getLogger(__name__)

#: The API's base address (version 1).
DEFAULT_BASE_URL = "https://api.statbank.dk/v1"
#: Environment variable that overrides the base address (tests point it at a local server).
BASE_URL_ENV = "LANDSIM_STATBANK_URL"
#: The column that holds the figure in the API's CSV answers.
VALUE_COLUMN = "INDHOLD"
#: DST's symbol for a figure that is not available or is confidential.
MISSING = ".."

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class RefreshError(ValueError):
    """Downloaded data is malformed or fails a check; the message names table and field."""


class StatbankUnreachableError(OSError):
    """The API's host cannot be reached (no network, DNS failure, refused, timeout, 5xx)."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"cannot reach {host}: {reason}")
        self.host = host
        self.reason = reason


class StatbankApiError(RuntimeError):
    """The API answered but refused the request (HTTP 4xx), e.g. a table that does not exist."""

    def __init__(self, table: str, status: int, code: str, message: str) -> None:
        super().__init__(f"{table}: the API refused the request (HTTP {status}"
                         f"{', ' + code if code else ''}): {message}")
        self.table = table
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Variable:
    """One variable of a table, as ``tableinfo`` describes it."""

    id: str
    text: str
    elimination: bool
    time: bool
    values: tuple[tuple[str, str], ...]  # (id, text) pairs in the API's order

    @property
    def ids(self) -> list[str]:
        """The value ids."""
        return [v for v, _ in self.values]

    @property
    def labels(self) -> dict[str, str]:
        """Value id -> label."""
        return dict(self.values)

    @property
    def column(self) -> str:
        """The variable's column name in the API's CSV answers."""
        return self.id.upper()


@dataclass(frozen=True)
class TableInfo:
    """A table's metadata from ``tableinfo``."""

    id: str
    text: str
    unit: str
    updated: str
    variables: tuple[Variable, ...]
    description: str = ""

    def variable(self, var_id: str) -> Variable:
        """The variable ``var_id`` (case-insensitive).

        Raises:
            RefreshError: The table has no such variable (the message lists those it has).
        """
        for v in self.variables:
            if v.id.upper() == var_id.upper():
                return v
        raise RefreshError(f"{self.id}: the table has no variable '{var_id}' (it has "
                           f"{', '.join(v.id for v in self.variables)}); its layout changed")

    @property
    def time_variable(self) -> Variable:
        """The time variable (``Tid``)."""
        for v in self.variables:
            if v.time:
                return v
        raise RefreshError(f"{self.id}: tableinfo marks no variable as time ('time': true)")


def parse_tableinfo(payload: dict | list | str | bytes, table: str) -> TableInfo:
    """Read a ``tableinfo`` JSON answer.

    Args:
        payload: The decoded JSON object, or its text/bytes.
        table: The table id asked for (for messages).

    Returns:
        The table's metadata.

    Raises:
        RefreshError: Not JSON, or a field is missing or of the wrong kind.
    """
    if isinstance(payload, bytes | str):
        try:
            payload = json.loads(payload)
        except ValueError as e:
            raise RefreshError(f"{table}: tableinfo is not JSON ({e})") from None
    if not isinstance(payload, dict):
        raise RefreshError(f"{table}: tableinfo is not a JSON object")

    def need(obj: dict, key: str, kind: type, where: str):
        if key not in obj:
            raise RefreshError(f"{table}: tableinfo field '{where}{key}' is missing")
        if not isinstance(obj[key], kind):
            raise RefreshError(f"{table}: tableinfo field '{where}{key}' is "
                               f"{type(obj[key]).__name__}, expected {kind.__name__}")
        return obj[key]

    variables = []
    for i, v in enumerate(need(payload, "variables", list, "")):
        where = f"variables[{i}]."
        if not isinstance(v, dict):
            raise RefreshError(f"{table}: tableinfo field '{where[:-1]}' is not an object")
        vals = []
        for j, val in enumerate(need(v, "values", list, where)):
            if not isinstance(val, dict) or "id" not in val:
                raise RefreshError(f"{table}: tableinfo field '{where}values[{j}].id' is missing")
            vals.append((str(val["id"]), str(val.get("text", val["id"]))))
        variables.append(Variable(id=str(need(v, "id", str, where)), text=str(v.get("text", "")),
                                  elimination=bool(v.get("elimination", False)),
                                  time=bool(v.get("time", False)), values=tuple(vals)))
    return TableInfo(id=str(need(payload, "id", str, "")), text=str(payload.get("text", "")),
                     unit=str(payload.get("unit", "")),
                     updated=str(need(payload, "updated", str, "")),
                     variables=tuple(variables),
                     description=str(payload.get("description", "")))


@dataclass
class ParsedCsv:
    """A parsed data answer: key columns as text, the figures as floats (NaN for ``..``)."""

    columns: list[str]
    rows: list[tuple[str, ...]]
    values: list[float]
    missing: int = 0
    header: list[str] = field(default_factory=list)


def parse_number(text: str, decimal: str = ".") -> float:
    """One ``INDHOLD`` figure: ``..`` -> NaN, else a plain number with ``decimal`` as mark.

    Thousands separators are refused rather than guessed: read with the wrong convention,
    ``1.234`` would silently become 1.234 instead of 1234.

    Raises:
        ValueError: Not a number in the API's format.
    """
    s = text.strip()
    if s == MISSING:
        return math.nan
    if decimal != ".":
        if "." in s:
            raise ValueError(text)
        s = s.replace(decimal, ".")
    if not _NUMBER.fullmatch(s):
        raise ValueError(text)
    return float(s)


def parse_data_csv(data: bytes | str, table: str, columns: list[str],
                   decimal: str = ".") -> ParsedCsv:
    """Parse a ``data`` answer in the API's CSV/BULK format.

    Args:
        data: The answer as received (bytes, UTF-8 with or without a byte-order mark) or text.
        table: The table id (for messages).
        columns: The variable columns the request asked for (capitals, e.g. ``OMRÅDE``,
            ``TID``); ``INDHOLD`` is always required as well.
        decimal: The decimal mark (``.`` for ``lang=en``, ``,`` for ``lang=da``).

    Returns:
        Key columns (in the order of ``columns``), rows of value ids, figures.

    Raises:
        RefreshError: Not UTF-8, empty, a column missing, a row of the wrong length, or a
            figure that is not a number; the message names table, field and line.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise RefreshError(f"{table}: the answer is not UTF-8 text ({e})") from None
    else:
        text = data.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text), delimiter=";")
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise RefreshError(f"{table}: the answer is empty (no header line)")
    header = [h.strip() for h in header]
    index = {h.upper(): i for i, h in enumerate(header)}
    need = [c.upper() for c in columns] + [VALUE_COLUMN]
    for c in need:
        if c not in index:
            raise RefreshError(f"{table}: column '{c}' is missing from the answer (its header "
                               f"is {';'.join(header)}; expected {';'.join(need)})")
    key_idx = [index[c.upper()] for c in columns]
    val_idx = index[VALUE_COLUMN]
    rows: list[tuple[str, ...]] = []
    values: list[float] = []
    missing = 0
    for line_no, rec in enumerate(reader, start=2):
        if not rec or (len(rec) == 1 and not rec[0].strip()):
            continue
        if len(rec) != len(header):
            raise RefreshError(f"{table}: line {line_no} has {len(rec)} fields, the header "
                               f"{len(header)} ({';'.join(rec)})")
        key = tuple(rec[i].strip() for i in key_idx)
        try:
            v = parse_number(rec[val_idx], decimal)
        except ValueError:
            where = ", ".join(f"{c}={k}" for c, k in zip(columns, key, strict=True))
            raise RefreshError(f"{table}: field {VALUE_COLUMN} on line {line_no} ({where}) is "
                               f"{rec[val_idx]!r}, not a number (expected digits with "
                               f"'{decimal}' as decimal mark, or '..' for not available)") \
                from None
        missing += math.isnan(v)
        rows.append(key)
        values.append(v)
    if not rows:
        raise RefreshError(f"{table}: the answer has a header but no rows")
    return ParsedCsv(columns=[c.upper() for c in columns], rows=rows, values=values,
                     missing=missing, header=header)


class StatbankClient:
    """Minimal client of the StatBank API: POST JSON, get bytes back.

    Args:
        base_url: The API's base address including the version, e.g.
            ``https://api.statbank.dk/v1``.
        timeout: Seconds to wait for a connection or an answer.
    """

    def __init__(self, base_url: str = DEFAULT_BASE_URL, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    @property
    def host(self) -> str:
        """Host (and port, if given) of the base address."""
        return urllib.parse.urlsplit(self.base_url).netloc or self.base_url

    def url(self, function: str) -> str:
        """Address of an API function (``tableinfo``, ``data``, ``tables``)."""
        return f"{self.base_url}/{function}"

    def post(self, function: str, body: dict, table: str) -> bytes:
        """POST ``body`` as JSON to ``function``; return the answer's bytes.

        Raises:
            StatbankUnreachableError: No connection, a timeout, or a server error (5xx).
            StatbankApiError: The API refused the request (4xx).
        """
        req = urllib.request.Request(
            self.url(function), data=json.dumps(body).encode("utf-8"), method="POST",
            headers={"Content-Type": "application/json; charset=utf-8",
                     "User-Agent": f"landsim/{__version__} (data refresh)"})
        log.info("POST %s %s", req.full_url, json.dumps(body, ensure_ascii=False))
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.read()
        except urllib.error.HTTPError as e:
            raw = e.read() if e.fp is not None else b""
            if e.code >= 500:
                raise StatbankUnreachableError(self.host, f"HTTP {e.code} {e.reason}") from None
            code, message = "", raw.decode("utf-8", "replace").strip()[:300]
            try:
                err = json.loads(raw.decode("utf-8-sig"))
                if isinstance(err, dict):
                    code = str(err.get("errorTypeCode", ""))
                    message = str(err.get("message", message))
            except ValueError:
                pass
            raise StatbankApiError(table, e.code, code, message or str(e.reason)) from None
        except urllib.error.URLError as e:
            raise StatbankUnreachableError(self.host, _reason(e.reason)) from None
        except TimeoutError:
            raise StatbankUnreachableError(self.host, f"no answer within {self.timeout:g} s") \
                from None
        except OSError as e:  # connection reset and the like
            raise StatbankUnreachableError(self.host, _reason(e)) from None

    def tableinfo(self, table: str, lang: str = "en") -> tuple[TableInfo, bytes]:
        """A table's metadata (and the raw JSON answer)."""
        raw = self.post("tableinfo", {"table": table, "format": "JSON", "lang": lang}, table)
        return parse_tableinfo(raw, table), raw

    def data(self, body: dict) -> bytes:
        """The raw answer of a ``data`` request."""
        return self.post("data", body, str(body.get("table", "?")))


def _reason(e: object) -> str:
    if isinstance(e, socket.gaierror):
        return f"host name not resolved ({e.strerror or e}); no network?"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, TimeoutError):
        return "timed out"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e)
