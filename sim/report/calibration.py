"""What the report says about the calibration the comparisons ran with.

The comparison's manifest records the calibrated file the runs read (``calibration_file``:
its path and its ``[fit]`` table, :func:`sim.params.calibration_info`). When the
calibration's own report (``report/manifest.json`` next to that file, written by ``landsim
calibrate`` with the same fit hash) is at hand, the statement gives its held-out
result in plain words; otherwise it says which years were fitted, or that the runs used the
uncalibrated defaults.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from .i18n import add_strings, number, text

log = logging.getLogger(__name__)

add_strings({
    "calib_none": {
        "da": "Kørslerne brugte modellens ukalibrerede standardværdier: ingen parameter er "
              "tilpasset observerede tal.",
        "en": "The runs used the model's uncalibrated defaults: no parameter was fitted to "
              "observed figures."},
    "calib_fitted": {
        "da": "Modellens adfærd er kalibreret: dens parametre er tilpasset kommunernes "
              "befolkning og alderssammensætning {start}-{end}.",
        "en": "The model's behaviour is calibrated: its parameters were fitted to the "
              "municipalities' populations and age structure {start}-{end}."},
    "calib_held_out": {
        "da": "Modellens adfærd er kalibreret: dens parametre er tilpasset kommunernes "
              "befolkning og alderssammensætning {start}-{end} og derefter afprøvet på årene "
              "{v_start}-{v_end}, som tilpasningen ikke så. Her ramte modellen hver kommunes "
              "vækst med en gennemsnitlig fejl på {mae} procentpoint; blot at videreføre hver "
              "kommunes udvikling fra {start}-{end} gav en fejl på {trend}. Modellen ramte "
              "retningen (vækst eller tilbagegang) i {signs} af {n} kommuner. {verdict}",
        "en": "The model's behaviour is calibrated: its parameters were fitted to the "
              "municipalities' populations and age structure {start}-{end} and then tested on "
              "the years {v_start}-{v_end}, which the fit did not see. There the model missed "
              "each municipality's growth by {mae} percentage points on average; simply "
              "continuing each municipality's {start}-{end} trend missed by {trend}. The model "
              "got the direction (growth or decline) right in {signs} of {n} municipalities. "
              "{verdict}"},
    "calib_better": {
        "da": "Modellen ramte altså bedre end trenden.",
        "en": "The model thus did better than the trend."},
    "calib_worse": {
        "da": "For en kommunes samlede befolkning over få år er trenden derfor det bedste bud; "
              "modellens styrke er at sammenligne, hvad et initiativ ændrer, med de samme "
              "tilfældige udfald i begge forløb.",
        "en": "For a municipality's total over a few years the trend is therefore the better "
              "guess; the model's strength is comparing what an initiative changes, with the "
              "same random outcomes in both paths."},
})


def _held_out(file: Path, fit_hash: str | None) -> dict[str, Any] | None:
    """The held-out result in the calibration report next to ``file``, if it is that fit's."""
    path = file.parent / "report" / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        log.info("no calibration report for %s: %s", file, e)
        return None
    rows = manifest.get("validation") or []
    if fit_hash is None or manifest.get("fit_hash") != fit_hash or len(rows) < 2:
        log.info("%s is not the report of the fit %s", path, fit_hash)
        return None
    protocol = (manifest.get("config_resolved") or {}).get("protocol") or {}
    return {"model": rows[0], "trend": rows[1], "validation_end": protocol.get("validation_end")}


def statement(manifest: dict[str, Any], lang: str) -> str:
    """One paragraph on the calibration of the runs behind a comparison.

    Args:
        manifest: The comparison's ``manifest.json``.
        lang: Report language.
    """
    info = manifest.get("calibration_file") or {}
    if not info.get("file"):
        return text("calib_none", lang)
    fit = info.get("fit") or {}
    years = fit.get("fit_years") or [None, None]
    start, end = years[0], years[-1]
    if start is None:
        return text("calib_fitted", lang, start="?", end="?")
    held = _held_out(Path(info["file"]), fit.get("fit_hash"))
    if held is None or held["validation_end"] is None:
        return text("calib_fitted", lang, start=start, end=end)
    m, t = held["model"], held["trend"]
    mae, trend = float(m["mae_pp"]), float(t["mae_pp"])
    return text("calib_held_out", lang, start=start, end=end, v_start=int(end) + 1,
                v_end=held["validation_end"], mae=number(mae, lang, 1),
                trend=number(trend, lang, 1), signs=int(m["sign_right"]),
                n=int(m["municipalities"]),
                verdict=text("calib_better" if mae < trend else "calib_worse", lang))
