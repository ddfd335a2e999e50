"""Does a run at a small scale estimate a 1:1 run without bias? (issue 12, item 5)

For each scale (default 0.05, 0.1, 0.25 and 1) and a few seeds, on the calibrated defaults:

* the synthetic population of 2021: households (full-scale estimate), persons per household,
  the share of one-person households and of households with children under 18;
* a run 2021-2050: the 10th, 50th and 90th percentiles over places of the house-price index in
  2050 (places with at least one dwelling), the region's vacancy rate, its population and
  households in 2050 (full-scale estimates), and the open grocers and schools in 2050 (units
  are whole shops and schools at every scale).

Mean and standard error over seeds are printed per scale; the JSON keeps every run. Run it on
any checkout (``--code DIR`` puts DIR first on ``sys.path``)::

    python benchmarks/scale_invariance.py --out benchmarks/out/scale_after.json
    python benchmarks/scale_invariance.py --code /tmp/main_src --out /tmp/scale_before.json

About 10 minutes on 2 cores with the default seeds (1:1 runs take about 40 s each); not a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SEEDS = {0.05: 8, 0.1: 6, 0.25: 4, 1.0: 2}


def one_run(scale: float, seed: int, end_year: int) -> dict:
    """Start-state households and the 2050 price spread of one run."""
    import numpy as np

    from sim.model import RegionModel
    from sim.params import default_parameters

    p = default_parameters().with_overrides(scale=scale, end_year=end_year)
    m = RegionModel(p, seed=seed)
    pop = m.pop
    size = pop.size()
    minors = pop.n_minors()
    start = {"households": len(size) / scale, "persons": len(pop.persons) / scale,
             "persons_per_household": float(len(pop.persons) / len(size)),
             "one_person_share": float((size == 1).mean()),
             "with_children_share": float((minors > 0).mean())}
    t = time.perf_counter()
    m.run()
    price = m.housing.price[m.housing.dwellings > 0]
    ry = m.region_year().iloc[-1]
    occupied = np.bincount(m.pop.households.place, minlength=m.world.n)
    units = m.services.open_count(m.world.n).sum(axis=0)
    return {"scale": scale, "seed": seed, **start,
            "price_p10": float(np.percentile(price, 10)),
            "price_p50": float(np.percentile(price, 50)),
            "price_p90": float(np.percentile(price, 90)),
            "vacancy_rate_end": float(m.housing.vacant(occupied).sum() / m.housing.dwellings.sum()),
            "grocers_end": int(units[0]), "schools_end": int(units[1]),
            "population_end": float(ry["population"] / scale),
            "households_end": float(len(m.pop.households) / scale),
            "seconds": round(time.perf_counter() - t, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--code", type=Path, default=ROOT, help="checkout whose sim/ to run")
    ap.add_argument("--scales", type=float, nargs="+", default=list(DEFAULT_SEEDS))
    ap.add_argument("--seeds", type=int, default=None,
                    help="seeds per scale (default: 8, 6, 4, 2 for 0.05, 0.1, 0.25, 1)")
    ap.add_argument("--end-year", type=int, default=2050)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "scale.json")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(args.code.resolve()))
    import numpy as np

    import sim

    print(f"sim from {Path(sim.__file__).parent}", file=sys.stderr)
    runs = []
    for scale in args.scales:
        n = args.seeds or DEFAULT_SEEDS.get(scale, 3)
        for seed in range(n):
            r = one_run(scale, seed, args.end_year)
            runs.append(r)
            print(json.dumps(r), file=sys.stderr, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"code": str(args.code.resolve()), "runs": runs}, indent=2)
                        + "\n", encoding="utf-8")
    keys = ("households", "persons_per_household", "one_person_share", "with_children_share",
            "price_p10", "price_p50", "price_p90", "vacancy_rate_end", "population_end",
            "households_end", "grocers_end", "schools_end")
    print("scale  seeds  " + "  ".join(f"{k:>22s}" for k in keys))
    for scale in args.scales:
        rs = [r for r in runs if r["scale"] == scale]
        cells = []
        for k in keys:
            v = np.array([r[k] for r in rs])
            se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan")
            cells.append(f"{v.mean():>13.4g} ± {se:<6.2g}")
        print(f"{scale:<6g} {len(rs):>5d}  " + "  ".join(cells))
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
