"""The forum report: content, languages, captions, escaping, self-containment, bad input."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
import shutil
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from report_data import comparison, report

from sim.cli import main
from sim.model import RegionModel
from sim.params import Parameters
from sim.report import ReportError, build_report
from sim.report.captions import direction_key, verdict_key
from sim.report.i18n import JS_KEYS, STRINGS, missing, number, percent, translate_note
from sim.report.inputs import load
from sim.report.overview import Overview, grocer_reference
from sim.similar import context_notes, features, rank_similar


class _Tags(HTMLParser):
    """Collect every start tag with its attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    return p


@pytest.fixture(scope="module")
def cmp(tmp_path_factory):
    return comparison(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def da_folder(cmp, tmp_path_factory):
    """A copy of the comparison with the default report (Danish, no --out) written into it."""
    folder = tmp_path_factory.mktemp("rep") / "c"
    shutil.copytree(cmp, folder)
    assert main(["report", str(folder), "--no-progress"]) == 0
    return folder


@pytest.fixture(scope="module")
def report_da(da_folder):
    return (da_folder / "report-da.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def built_en(cmp, tmp_path_factory):
    info = report(tmp_path_factory.getbasetemp(), "en")
    assert info.size_bytes == info.path.stat().st_size
    return info


@pytest.fixture(scope="module")
def report_en(built_en):
    return built_en.path.read_text(encoding="utf-8")


def test_compare_writes_what_the_report_needs(cmp):
    """Rule: a comparison keeps both arms per seed (population, ages, services, km to a grocer),
    the places and five similar places per place, ranked as `landsim similar` ranks them; a
    place's km to a grocer is the road distance to the nearest place with an open one (own
    place: 2 km), and ages add up to the population."""
    s = pd.read_parquet(cmp / "place_year_seeds.parquet")
    assert set(s["arm"]) == {"baseline", "scenario"} and set(s["seed"]) == {0, 1}
    ages = s[["age_0_17", "age_18_29", "age_30_64", "age_65_plus"]].sum(axis=1)
    assert np.allclose(ages, s["population"], rtol=1e-5)
    with_shop = s[s["grocer_open"] > 0]
    assert len(with_shop) and (with_shop["grocer_km"] <= 2.0).all()
    places = pd.read_parquet(cmp / "places.parquet")
    sim = pd.read_parquet(cmp / "similar_places.parquet")
    assert sim.groupby("ref_place_id").size().eq(5).all()
    assert sim["ref_place_id"].nunique() == len(places)
    assert not (sim["ref_place_id"] == sim["place_id"]).any()
    probe = RegionModel(Parameters(scale=0.02, end_year=2022), seed=0)
    last = s[(s["arm"] == "baseline") & (s["seed"] == 1) & (s["year"] == 2025)]
    last = last.sort_values("place_id")
    expected_km = probe.world.dist_km[:, last["grocer_open"].to_numpy() > 0].min(axis=1)
    assert np.allclose(last["grocer_km"].to_numpy(), expected_km)
    table = features(probe)
    for pid in (0, 400, len(places) - 1):
        expected = rank_similar(table, pid, 5)
        got = sim[sim["ref_place_id"] == pid]
        assert got["place_id"].tolist() == expected["place_id"].tolist()
        assert got["note"].tolist() == expected["note"].tolist()


def test_report_is_one_self_contained_file(report_da):
    """Rule: nothing in the page points outside it: every src/href is a data: URI or an
    in-page anchor, no stylesheet or script is loaded from elsewhere, and a content security
    policy forbids any request."""
    p = _parse(report_da)
    for tag, attrs in p.tags:
        for key in ("src", "href"):
            if key in attrs:
                assert attrs[key].startswith(("data:", "#")), (tag, attrs[key][:80])
        assert tag != "link"
        if tag == "script":
            assert "src" not in attrs
    assert "default-src 'none'" in report_da


def test_every_figure_is_an_embedded_png_with_alt_text(report_da):
    """Rule: every <img> has a non-empty alt text and a PNG data URI that decodes to an image
    of non-zero size; every figure has a caption and a CSV download."""
    p = _parse(report_da)
    imgs = [a for t, a in p.tags if t == "img"]
    assert len(imgs) >= 8  # 5 overview figures, 3 per scenario
    for a in imgs:
        assert len(a.get("alt", "").strip()) > 40
        head, data = a["src"].split(",", 1)
        assert head == "data:image/png;base64"
        raw = base64.b64decode(data)
        assert raw[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
        assert width > 100 and height > 100
    assert report_da.count("<figure") == len(imgs) == report_da.count("<figcaption>")
    csvs = [a for t, a in p.tags if t == "a" and a.get("href", "").startswith("data:text/csv")]
    assert len(csvs) >= len(imgs)


def _csv(html: str, name: str, sep: str) -> list[dict]:
    m = re.search(r'download="' + re.escape(name) + r'" href="data:text/csv;charset=utf-8;'
                  r'base64,([^"]+)"', html)
    assert m, name
    text = base64.b64decode(m.group(1)).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=sep))


def test_csv_behind_the_size_chart_is_the_data(cmp, report_en, report_da):
    """Rule: the downloadable data of the size-class chart are the baseline's totals: the
    region's mean start population over seeds equals the sum over places of place_year_seeds;
    Danish files use ';' and a decimal comma."""
    s = pd.read_parquet(cmp / "place_year_seeds.parquet")
    b = s[(s["arm"] == "baseline") & (s["year"] == 2021)]
    expected = b.groupby("seed")["population"].sum().mean()
    rows = _csv(report_en, "population_by_size_class.csv", ",")
    total = [r for r in rows if r["size_class"] == "whole region" and r["year"] == "2021"]
    assert float(total[0]["mean"]) == pytest.approx(expected, abs=1)
    rows_da = _csv(report_da, "population_by_size_class.csv", ";")
    assert {r["size_class"] for r in rows_da} >= {"åbent land", "hele regionen"}


def test_danish_is_the_default_and_english_is_complete(report_da, report_en):
    """Rule: without --lang the page is Danish; with --lang en it is English; every string
    exists in both languages, including those of the page script."""
    assert '<html lang="da">' in report_da and "Landsbyernes fremtid" in report_da
    assert '<html lang="en">' in report_en and "The future of villages" in report_en
    assert "Landsbyernes fremtid" not in report_en
    assert missing() == []
    assert all(k in STRINGS for k in JS_KEYS)
    strings_en = json.loads(re.search(r'<script type="application/json" id="strings">(.*?)'
                                      r"</script>", report_en, re.S).group(1))
    assert set(strings_en) == set(JS_KEYS)


def test_numbers_are_written_as_each_language_writes_them():
    """Rule: Danish uses '.' for thousands and ',' for decimals and '3,9 %'; English
    '12,346' and '3.9%'; negative numbers use a true minus sign."""
    assert number(12345.6, "da") == "12.346" and number(12345.6, "en") == "12,346"
    assert percent(0.039, "da") == "3,9 %" and percent(0.039, "en") == "3.9%"
    assert number(-5, "en", sign=True) == "−5" and number(5, "da", sign=True) == "+5"
    assert number(float("nan"), "da") == "–"


def test_verdicts_follow_the_interval():
    """Rule: above zero = clearly more, below zero = clearly fewer, an interval that includes
    zero cannot be told apart from no change, all zeros = no difference; a baseline change is
    'in every run' only if every run agrees."""
    assert verdict_key(5, 1, 9) == "clearly_more"
    assert verdict_key(-5, -9, -1) == "clearly_fewer"
    assert verdict_key(4, -1, 9) == "cannot_tell"
    assert verdict_key(0, 0, 0) == "no_difference"
    assert verdict_key(3, float("nan"), float("nan")) == "cannot_tell"
    assert direction_key([10, 10], [9, 8]) == "every_run_falls"
    assert direction_key(10, [11, 12]) == "every_run_grows"
    assert direction_key([10, 10], [9, 11]) == "runs_disagree"


def test_captions_are_derived_from_the_comparison(cmp, report_en):
    """Rule: the caption of the totals states the last year's difference and interval of the
    targeted places and the verdict that interval implies."""
    t = pd.read_parquet(cmp / "difference_targeted.parquet").iloc[-1]
    v = {"clearly_more": "clearly more inhabitants", "clearly_fewer": "clearly fewer "
         "inhabitants", "cannot_tell": "cannot be told apart from no change",
         "no_difference": "no difference"}[verdict_key(t["mean_diff"], t["ci_low"],
                                                       t["ci_high"])]
    diff = number(t["mean_diff"], "en", sign=True)
    lo = number(t["ci_low"], "en", sign=True)
    cap = re.search(r'id="fig-s0-total">.*?<figcaption>(.*?)<a', report_en, re.S).group(1)
    assert f"{diff} inhabitants with the initiative" in cap
    assert f"interval {lo} to" in cap and v in cap


def test_failed_initiatives_are_listed_with_why(cmp, report_en, report_da):
    """Rule: initiatives that failed appear with place, runs and the reason in words (the
    volunteer-hungry Skive item fails for want of volunteers)."""
    ev = pd.read_parquet(cmp / "initiative_events.parquet")
    failed = ev[ev["event"] == "failed"]
    assert len(failed) > 0
    assert f"{len(failed)} of {(ev['event'] == 'started').sum()} initiatives started" \
        in report_en
    assert "there were not enough volunteer hours" in report_en
    assert "der var ikke frivillige timer nok" in report_da


def test_grocer_distance_is_compared_with_statistics_denmark(cmp, report_en):
    """Rule: the share of people more than 5 km from a grocer is computed from the baseline
    (population-weighted over places, mean over seeds) and set against Statistics Denmark's
    3.9% (2022) read from data/calibration_figures.csv."""
    ref = grocer_reference()
    assert ref.share_all == pytest.approx(0.039) and ref.share_small == pytest.approx(0.23)
    s = pd.read_parquet(cmp / "place_year_seeds.parquet")
    b = s[(s["arm"] == "baseline") & (s["year"] == 2021)]
    far = b.assign(f=b["population"] * (b["grocer_km"] > 5)).groupby("seed")[["f",
                                                                               "population"]]
    share = (far.sum()["f"] / far.sum()["population"]).mean()
    assert f"In 2021, {percent(share, 'en')} of the region's inhabitants" \
        in html.unescape(report_en)
    assert "Statistics Denmark: 3.9% for all of Denmark in 2022" in report_en


def test_service_loss_counts_places_that_lose_their_last_unit(tmp_path):
    """Rule: a place that had a grocer at the start and has none later counts as having lost
    its last grocer from that year; one that never had one, or keeps one, does not."""
    places = pd.DataFrame({"place_id": [0, 1, 2], "name": ["A", "B", "C"],
                           "municipality": "M", "kind": "town", "lat": [56.0, 56.1, 56.2],
                           "lon": [9.0, 9.1, 9.2], "parish_name": "P", "population": 500,
                           "estimated": False})
    rows = []
    for seed in (0, 1):
        for year, grocers in ((2021, [1, 0, 2]), (2022, [1, 0, 1]), (2023, [0, 0, 1])):
            for pid in range(3):
                rows.append({"seed": seed, "year": year, "place_id": pid, "population": 500.0,
                             "grocer_open": grocers[pid], "school_open": 0, "doctor_open": 0,
                             "pharmacy_open": 0, "grocer_km": 2.0, "age_0_17": 100.0,
                             "age_18_29": 100.0, "age_30_64": 200.0, "age_65_plus": 100.0})
    ov = Overview(pd.DataFrame(rows), places, "en")
    fig, table = ov.service_loss()
    grocer = table[table["service"] == "grocer"]
    assert grocer["place"].tolist() == ["A"] and grocer["year"].tolist() == [2023]
    assert grocer["share_of_runs"].tolist() == [1.0]
    assert "By 2023, 1 places have lost their last grocer" in fig.caption


def test_context_notes_are_translated_to_danish():
    """Rule: every kind of context note from sim.similar reads in Danish (no English words
    left), numbers in Danish notation."""
    ref = {"kind": "town", "population": 400, "share_65plus": 0.15, "share_0_17": 0.25,
           "km_larger_town": 5, "km_grocer": 2, "services": 3, "municipal_trend_pct": 2.0}
    far = {"kind": "countryside", "population": 4000, "share_65plus": 0.35,
           "share_0_17": 0.10, "km_larger_town": 25, "km_grocer": 15, "services": 0,
           "municipal_trend_pct": -6.5}
    en = context_notes(ref, far)
    assert en.count(";") >= 6
    da = translate_note(en, "da")
    for word in ("much", "children", "town", "grocer", "services", "municipality", " vs "):
        assert word not in da, (word, da)
    assert "4.000 mod 400 indbyggere" in da and "−6,5 %" not in da
    assert translate_note("similar context", "da") == "lignende forhold"
    near = translate_note(context_notes(far, ref), "da")
    assert "tæt på en større by" in near and "en dagligvarebutik inden for" in near


def test_names_are_escaped(tmp_path_factory):
    """Rule: a place (and scenario) called '<script>...' is shown as text: the page holds no
    such element, only its escaped form, in the HTML and in the embedded JSON."""
    page = report(tmp_path_factory.getbasetemp(), "da", evil=True).path.read_text(
        encoding="utf-8")
    assert '<script>alert("x")' not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in page
    assert "\\u003cscript\\u003ealert" in page
    assert sum(1 for t, _ in _parse(page).tags if t == "script") == 3


def test_several_comparisons_share_one_baseline(cmp, tmp_path):
    """Rule: a folder of comparisons with one baseline gives one section per scenario; a
    comparison with other seeds is refused with both folders named (exit 2), and no file is
    written."""
    root = tmp_path / "results"
    shutil.copytree(cmp, root / "a")
    shutil.copytree(cmp, root / "b")
    m = json.loads((root / "b" / "manifest.json").read_text())
    m["scenario"] = "second"
    (root / "b" / "manifest.json").write_text(json.dumps(m))
    comps = load([root])
    assert [c.name for c in comps] == ["coop_test", "second"]
    page = build_report([root], out=tmp_path / "two.html", lang="en").path.read_text()
    assert 'id="scenario-0"' in page and 'id="scenario-1"' in page
    m["seeds"] = [5, 6]
    (root / "b" / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ReportError, match="differ in 'seeds'"):
        load([root])


def test_bad_results_give_one_clear_message_and_exit_2(cmp, tmp_path, capsys):
    """Rule: a missing folder, a single run, a folder without comparisons, a comparison
    missing a file, or a damaged manifest -> one message naming folder/file and fix, exit 2,
    and no report file."""
    out = tmp_path / "x.html"
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text('{"run_name": "r", "seed": 0}')
    partial = tmp_path / "partial"
    shutil.copytree(cmp, partial)
    (partial / "place_year_seeds.parquet").unlink()
    broken = tmp_path / "broken"
    shutil.copytree(cmp, broken)
    (broken / "manifest.json").write_text("{not json")
    cases = [(tmp_path / "nope", "does not exist"), (run, "single run"),
             (tmp_path / "empty", "no comparison folder"),
             (partial, "place_year_seeds.parquet is missing"),
             (broken, "not a readable JSON manifest")]
    (tmp_path / "empty").mkdir()
    for folder, message in cases:
        assert main(["report", str(folder), "--out", str(out), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
        assert err.count("\n") == 1
        assert not out.exists()
    assert main(["report", str(cmp), "--out", str(tmp_path / "x.pdf")]) == 2
    with pytest.raises(SystemExit) as e:
        main(["report", str(cmp), "--lang", "fr"])
    assert e.value.code == 2


def test_report_size_stays_sensible(built_en):
    """Rule: profiles of every place travel as compact JSON, not images: the whole file for
    about 1,000 places stays under 3 MB."""
    assert built_en.places > 900
    assert built_en.size_bytes < 3_000_000


def test_default_output_is_danish_in_the_results_folder(da_folder):
    """Rule: without --out and --lang the report is written as report-da.html in the RESULTS
    folder, via a temporary file (no partial file remains)."""
    assert (da_folder / "report-da.html").stat().st_size > 100_000
    assert not list(da_folder.glob(".report-da.html.partial-*"))


# ------------------------------------------------------------------ costs, volunteers, ranking
def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(" ".join(_parse(page).text)))


def test_each_scenario_shows_its_cost_and_what_a_million_buys(cmp, report_en, report_da):
    """Rule: a scenario's section states its extra cost and, per outcome, the difference
    per DKK million with the 95% interval, as effectiveness.parquet has them."""
    eff = pd.read_parquet(cmp / "effectiveness.parquet")
    e = eff[(eff["outcome"] == "residents") & (eff["cost_end"] == "central")].iloc[0]
    page = _text(report_en)
    assert f"The initiatives cost DKK {number(e['cost_dkk'] / 1e6, 'en', 2)} million" in page
    cell = (f"{number(e['per_million'], 'en', 1, sign=True)} "
            f"({number(e['per_million_low'], 'en', 1, sign=True)} … "
            f"{number(e['per_million_high'], 'en', 1, sign=True)})")
    assert cell in page
    assert "Initiativerne koster" in _text(report_da)
    assert "personår med dagligvarebutik inden for 5 km" in report_da


def test_question_2_names_the_villages_whose_volunteers_ran_short(cmp, report_en, report_da):
    """Rule: the volunteers section lists the places where a claim was refused, with the
    scenario, the runs, and the initiatives that failed for lack of volunteers; the region
    figure shows the free hours by settlement size against the survey figures."""
    com = pd.read_parquet(cmp / "community_year_seeds.parquet")
    short = com[(com["arm"] == "scenario") & (com["refused"] > 0)]["place_id"].unique()
    assert len(short) > 0
    places = pd.read_parquet(cmp / "places.parquet").set_index("place_id")
    i = report_en.index('<section id="volunteers">')
    section = _text(report_en[i:report_en.index("</section>", i)])
    for pid in short:
        assert places.loc[pid, "name"] in section
    assert "cooperative grocer" in section and "exhausted" in section
    assert 'id="fig-volunteers"' in report_en and "free hours per adult nationally" in report_en
    assert "Frivillige: hvor slår kræfterne ikke til?" in report_da
    assert "frie timer pr. voksen på landsplan" in report_da


@pytest.fixture(scope="module")
def extended(cmp, tmp_path_factory):
    """The comparison plus one with a magnitude at its low end and a two-kind ranking, all
    with the same baseline, seeds and scale."""
    d = cmp.parent.parent
    results = cmp.parent
    assert main(["compare", str(d / "coop.toml"), "--seeds", "2", "--scale", "0.02",
                 "--out", str(results), "--vary", "coop_grocer.threshold_factor",
                 "--at", "low"]) == 0
    assert main(["rank", "--place", "Asp", "--kinds", "car_sharing,nature_project",
                 "--start", "2023", "--seeds", "2", "--scale", "0.02", "--baseline",
                 str(d / "baseline.toml"), "--out", str(d / "ranks")]) == 0
    out = tmp_path_factory.mktemp("ext")
    pages = {}
    for lang in ("en", "da"):
        info = build_report([results, d / "ranks" / "rank-Asp"], out=out / f"{lang}.html",
                            lang=lang)
        pages[lang] = info.path.read_text(encoding="utf-8")
    yield pages
    shutil.rmtree(results / "compare-coop_test.coop_grocer.threshold_factor-low")


def test_the_answer_over_an_assumed_range_and_the_ranking_are_in_the_report(extended):
    """Rule: a comparison of the same scenario with a magnitude at an end of its range shows
    in that scenario's table of assumptions (not as a scenario of its own), and a ranking of
    `landsim rank` shows as a section, with whether the volunteers can carry each kind, in
    both languages."""
    en = _text(extended["en"])
    assert "How much does the answer depend on the assumptions?" in en
    assert "coop_grocer.threshold_factor" in en
    assert 'class="scenario-name">coop_test.coop_grocer' not in extended["en"]
    assert "Ranking: Asp" in en and "Can the volunteers carry it?" in en
    assert "car sharing" in en and "nature project" in en
    da = _text(extended["da"])
    assert "Rangordning: Asp" in da and "Kan de frivillige bære det?" in da
    assert "Hvor meget afhænger svaret af antagelserne?" in da
