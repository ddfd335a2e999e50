"""How common are the random numbers of a paired comparison? (issue 12, item 4)

One cooperative grocer (type B) in one village (default Fabjerg, Lemvig: 379 inhabitants, no
grocer) from 2022; both arms with the same seed at scale 0.1 on the calibrated defaults.
Measured:

1. **Far-away divergence** (for each ``--seed``). Of the households living in the baseline
   arm more than ``--far-km`` (40) km by road from the village in ``--year`` (2035), the
   share that do not live in the same place in the scenario arm: matched by household id,
   "different" is another place or no household with that id. Also for the households that
   existed at the start (their ids are the same in both arms by construction), and per year.
2. **New persons' ids.** Of the persons in the baseline arm in ``--year`` who were born or
   arrived after the start, the share whose id is also in the scenario arm (and, of those,
   with the same age and sex: the same person).
3. **Paired interval.** With ``--seeds`` (10) seeds to 2050 (``sim.compare.compare``, as
   ``landsim compare`` does): the width of the 95% interval of the difference in the region's
   population in 2050 (full-scale estimate), and of the targeted village's.

Run it on any checkout (``--code DIR`` puts DIR first on ``sys.path``, default: this
repository), e.g. before and after a change::

    python benchmarks/crn_divergence.py --out benchmarks/out/crn_after.json
    git archive 04e06c4 | tar -x -C /tmp/main_src
    python benchmarks/crn_divergence.py --code /tmp/main_src --out benchmarks/out/crn_before.json

It takes about 5 minutes on 2 cores with one seed (part 3 is 20 runs of 30 years at scale
0.1), about 20 s more per extra ``--seed``; not a test. ``--skip-compare`` runs parts 1 and 2 only.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _scenario_text(village: str, start: int, end: int) -> str:
    return (f'name = "crn_probe"\ndescription = "one coop grocer in {village} from {start}"\n'
            f"[years]\nend = {end}\n"
            f'[[initiatives]]\nkind = "coop_grocer"\nstart = {start}\n'
            f'[initiatives.target]\nplaces = ["{village}"]\n'
            f'[initiatives.settings]\ntype = "B"\n')


def _load(village: str, start: int, end: int, places):
    from sim.scenario import Scenario, load

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crn_probe.toml"
        path.write_text(_scenario_text(village, start, end), encoding="utf-8")
        scen = load(path, places)
    return scen, Scenario(name="baseline", years=scen.years)


def divergence(args, seed: int) -> dict:
    """Parts 1 and 2: one seed, both arms stepped side by side."""
    import numpy as np

    from sim.model import RegionModel
    from sim.scenario import parameters
    from sim.similar import find_place

    scen, base = _load(args.village, args.start, args.year, _places())
    arms = {}
    for label, sc in (("baseline", base), ("scenario", scen)):
        p = parameters(sc).with_overrides(scale=args.scale)
        arms[label] = RegionModel(p, seed=seed, scenario=sc)
    a, b = arms["baseline"], arms["scenario"]
    world = a.world
    village = find_place(world.places, args.village)
    far_place = world.dist_km[village] > args.far_km
    start_hid = set(a.pop.households.hid.tolist())
    start_pid = set(a.pop.persons.pid.tolist())
    per_year = []
    while a.year < args.year:
        a.step()
        b.step()
        row = _compare_arms(a, b, far_place, start_hid)
        row["year"] = a.year
        per_year.append(row)
        print(f"{a.year}: far households elsewhere {row['far_diff']:.4f} "
              f"(start households {row['far_diff_start']:.4f})", file=sys.stderr, flush=True)
    pa, pb = a.pop.persons, b.pop.persons
    new_a = ~np.isin(pa.pid, np.fromiter(start_pid, np.int64))
    in_b = np.isin(pa.pid[new_a], pb.pid)
    ob = np.argsort(pb.pid)
    pos = ob[np.searchsorted(pb.pid[ob], pa.pid[new_a][in_b])]
    same_person = ((pa.age[new_a][in_b] == pb.age[pos]) & (pa.sex[new_a][in_b] == pb.sex[pos]))
    ev = b.initiative_events()
    return {
        "village": args.village, "village_place_id": int(village), "seed": seed,
        "scale": args.scale, "year": args.year, "far_km": args.far_km,
        "initiative_events": ev[["name", "place", "year", "event", "reason"]]
        .astype(str).to_dict("records"),
        "far_households": per_year[-1]["far_households"],
        "far_diff": per_year[-1]["far_diff"],
        "far_missing": per_year[-1]["far_missing"],
        "far_diff_start": per_year[-1]["far_diff_start"],
        "far_persons_diff": per_year[-1]["far_persons_diff"],
        "new_persons": int(new_a.sum()),
        "new_person_ids_matching": float(in_b.mean()) if new_a.any() else float("nan"),
        "new_person_ids_same_person": float(same_person.sum() / max(new_a.sum(), 1)),
        "per_year": per_year,
    }


def _compare_arms(a, b, far_place, start_hid) -> dict:
    import numpy as np

    ha, hb = a.pop.households, b.pop.households
    ob = np.argsort(hb.hid)
    sorted_b = hb.hid[ob]
    pos = np.minimum(np.searchsorted(sorted_b, ha.hid), len(sorted_b) - 1)
    found = sorted_b[pos] == ha.hid
    place_b = np.where(found, hb.place[ob[pos]], -1)
    far = far_place[ha.place]
    differ = place_b != ha.place
    start = np.isin(ha.hid, np.fromiter(start_hid, np.int64)) & far
    # persons: same id living in the same place
    pa, pb = a.pop.persons, b.pop.persons
    opb = np.argsort(pb.pid)
    spb = pb.pid[opb]
    ppos = np.minimum(np.searchsorted(spb, pa.pid), len(spb) - 1)
    pfound = spb[ppos] == pa.pid
    home_a = ha.place[pa.hh]
    home_b = np.where(pfound, hb.place[pb.hh[opb[ppos]]], -1)
    pfar = far_place[home_a]
    return {
        "far_households": int(far.sum()),
        "far_diff": float(differ[far].mean()),
        "far_missing": float((~found[far]).mean()),
        "far_diff_matched": float(differ[far & found].mean()),
        "far_diff_start": float(differ[start].mean()) if start.any() else float("nan"),
        "far_persons_diff": float((home_b != home_a)[pfar].mean()),
    }


def _places():
    from sim.params import default_parameters
    from sim.world import get_world

    return get_world(default_parameters()).places


def paired_interval(args) -> dict:
    """Part 3: ``sim.compare.compare`` over ``--seeds`` seeds to 2050."""
    import pandas as pd

    from sim.compare import compare

    scen, base = _load(args.village, args.start, 2050, _places())
    seeds = list(range(args.seeds))
    with tempfile.TemporaryDirectory() as tmp:
        folder = compare(scen, base, seeds, args.scale, Path(tmp), "crn", jobs=args.jobs)
        region = pd.read_parquet(folder / "difference_region.parquet")
        target = pd.read_parquet(folder / "difference_targeted.parquet")
    r = region[region["year"] == 2050].iloc[0]
    t = target[target["year"] == 2050].iloc[0]
    return {
        "seeds": len(seeds), "scale": args.scale,
        "region_2050": {k: float(r[k]) for k in ("baseline", "scenario", "mean_diff",
                                                 "ci_low", "ci_high")},
        "region_2050_ci_width": float(r["ci_high"] - r["ci_low"]),
        "village_2050": {k: float(t[k]) for k in ("baseline", "scenario", "mean_diff",
                                                  "ci_low", "ci_high")},
        "village_2050_ci_width": float(t["ci_high"] - t["ci_low"]),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--code", type=Path, default=ROOT, help="checkout whose sim/ to run")
    ap.add_argument("--village", default="Fabjerg")
    ap.add_argument("--start", type=int, default=2022, help="first year of the grocer")
    ap.add_argument("--year", type=int, default=2035, help="year of the divergence figures")
    ap.add_argument("--far-km", type=float, default=40.0)
    ap.add_argument("--seed", type=int, nargs="+", default=[5],
                    help="seeds of parts 1 and 2 (each a pair of runs)")
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--skip-compare", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "crn.json")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(args.code.resolve()))
    import sim

    print(f"sim from {Path(sim.__file__).parent}", file=sys.stderr)
    t0 = time.perf_counter()
    runs = [divergence(args, s) for s in args.seed]
    out = {"code": str(args.code.resolve()), "divergence": runs[0], "divergence_seeds": runs}
    if not args.skip_compare:
        out["paired_interval"] = paired_interval(args)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    d = out["divergence"]
    print(f"far (>{args.far_km:g} km) households in another place or absent in the other arm "
          f"in {args.year}: {d['far_diff']:.2%} (missing {d['far_missing']:.2%}; households of "
          f"the start {d['far_diff_start']:.2%}; persons {d['far_persons_diff']:.2%})")
    print(f"new persons' ids also in the other arm: {d['new_person_ids_matching']:.2%} "
          f"(same age and sex: {d['new_person_ids_same_person']:.2%}) of {d['new_persons']}")
    if len(runs) > 1:
        for r in runs:
            print(f"  seed {r['seed']}: far households {r['far_diff']:.2%} (start households "
                  f"{r['far_diff_start']:.2%}), new ids same person "
                  f"{r['new_person_ids_same_person']:.2%}")
        print(f"  mean over {len(runs)} seeds: far households "
              f"{sum(r['far_diff'] for r in runs) / len(runs):.2%}, start households "
              f"{sum(r['far_diff_start'] for r in runs) / len(runs):.2%}")
    if "paired_interval" in out:
        p = out["paired_interval"]
        print(f"region 2050 paired 95% interval width over {p['seeds']} seeds: "
              f"{p['region_2050_ci_width']:,.0f} (mean diff {p['region_2050']['mean_diff']:+,.0f});"
              f" village: {p['village_2050_ci_width']:,.1f}")
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
