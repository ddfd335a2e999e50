"""Time the forum report and measure its size; optionally take the README's screenshots.

    python benchmarks/bench_report.py results/coop_grocers_west --repeats 3
    python benchmarks/bench_report.py results/coop_grocers_west --screenshots docs/img \
        --place Fabjerg

For each language the report is built ``--repeats`` times (in this process, after one warm-up
build that also loads the libraries); the minimum and median build times and the file size
are printed and written as JSON. With ``--screenshots DIR`` Debian's Chromium (through
Playwright) saves ``report_overview.png``, ``report_initiative.png`` and
``report_profile.png`` of the Danish report into DIR.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.report import build_report

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def screenshots(report: Path, folder: Path, place: str) -> list[Path]:
    """Overview, first initiative and one place profile of ``report`` as PNG files."""
    from playwright.sync_api import expect, sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    out = [folder / f"report_{n}.png" for n in ("overview", "initiative", "profile")]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = b.new_page(viewport={"width": 900, "height": 1250})
        page.goto(report.resolve().as_uri())
        page.screenshot(path=str(out[0]))
        page.locator("#fig-s0-total").scroll_into_view_if_needed()
        page.evaluate("() => document.getElementById('scenario-0').scrollIntoView()")
        page.screenshot(path=str(out[1]))
        page.fill("#place-search", place)
        page.locator("#search-results a").first.click()
        expect(page.locator("#profile h3")).to_have_text(place)
        page.locator("#profile").screenshot(path=str(out[2]))
        b.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", type=Path, nargs="+", help="comparison folder(s)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/report.json"))
    ap.add_argument("--screenshots", type=Path, default=None, metavar="DIR")
    ap.add_argument("--place", default="Fabjerg", help="place of the profile screenshot")
    args = ap.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for lang in ("da", "en"):
            path = Path(tmp) / f"report-{lang}.html"
            build_report(args.results, out=path, lang=lang)  # warm-up
            times = []
            for _ in range(args.repeats):
                info = build_report(args.results, out=path, lang=lang)
                times.append(info.seconds)
            rows[lang] = {"bytes": info.size_bytes, "min_s": round(min(times), 2),
                          "median_s": round(statistics.median(times), 2),
                          "places": info.places, "scenarios": info.scenarios}
            print(f"{lang}: {info.size_bytes:,} bytes; build min {min(times):.2f} s, median "
                  f"{statistics.median(times):.2f} s over {args.repeats} ({info.places:,} "
                  f"places, {info.scenarios} scenario(s))")
            if lang == "da" and args.screenshots is not None:
                for f in screenshots(path, args.screenshots, args.place):
                    print(f"screenshot {f} ({f.stat().st_size:,} bytes)")
    manifests = [json.loads((r / "manifest.json").read_text()) for r in args.results
                 if (r / "manifest.json").exists()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M:%S"),
                                    "results": [str(r) for r in args.results],
                                    "seeds": [len(m.get("seeds", [])) for m in manifests],
                                    "scale": [m.get("scale") for m in manifests],
                                    "report": rows}, indent=2) + "\n")
    print(args.out)


if __name__ == "__main__":
    main()
