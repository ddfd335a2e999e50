"""Issue 11: do location constants per life stage improve the held-out fit.

Keeps the shipped behavioural estimates of ``calibration/params.toml`` fixed and reruns the
contraction of the location constants at the calibration's final setting (scale and seeds
of ``[constants] final_scale`` / ``final_seeds``), once with the municipal constants only and
once with constants per municipality and life stage (``[constants] stages``), then the
held-out validation (2018 -> 2023) of each. Prints the contraction's errors per iteration and
the two validation tables, and writes them to ``OUT/stage_constants.md``.

Run from the repository root (about 2 minutes on two cores)::

    python experiments/stage_constants.py --out results/stage_constants
    python experiments/stage_constants.py --stages young senior --iterations 16
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from sim.calibration.config import load_config
from sim.calibration.fit import (
    STAGE_BANDS,
    Constants,
    Objective,
    _log_error,
    _stage_gap,
    _steps,
    final_contraction_config,
    step_constants,
)
from sim.calibration.simulate import simulate
from sim.calibration.targets import fit_targets
from sim.calibration.validation import format_summary, validate
from sim.calibration.workflow import fitted_overrides
from sim.infra import deep_merge
from sim.params import Parameters


def contract_fixed(cfg, fitted: dict, iterations: int, pool) -> tuple[Constants, list[str]]:
    """Contraction of the constants with the behavioural values of ``fitted`` held fixed."""
    final = final_contraction_config(cfg)
    targets = fit_targets(cfg)
    c = Constants(dict(fitted["relocation"].get("location_constants", {})))
    seeds = final.simulation.seeds
    lines = []
    for it in range(iterations):
        run = Objective(final, targets, constants=c).run_settings()
        params = Parameters.model_validate(
            deep_merge(deep_merge(Parameters().resolved(), fitted), run))
        runs = list(pool.map(simulate, [params] * len(seeds), seeds))
        err, gap = _log_error(final, targets, runs), _stage_gap(final, targets, runs)
        lines.append(f"iteration {it}: largest |ln obs - ln sim| of a municipality "
                     f"{err.abs().max():.4f}; of a municipality's stage share "
                     f"{gap.abs().to_numpy().max():.4f} (mean {gap.abs().to_numpy().mean():.4f})")
        print(lines[-1], file=sys.stderr)
        step, stage_step = _steps(final, targets, runs)
        c = step_constants(c, step, final, targets, stage_step)
    return c, lines


def main() -> int:
    """Both contractions and validations; the tables to stdout and OUT."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=Path("calibration/default.toml"))
    ap.add_argument("--params", type=Path, default=Path("calibration/params.toml"))
    ap.add_argument("--stages", nargs="+", default=list(STAGE_BANDS), choices=list(STAGE_BANDS))
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--out", type=Path, default=Path("results/stage_constants"))
    args = ap.parse_args()
    base = load_config(args.config)
    fitted = fitted_overrides(args.params)
    doc = [f"# Location constants per life stage ({', '.join(args.stages)})", "",
           f"Behavioural values of `{args.params}` fixed; contraction with "
           f"{args.iterations} iterations at the final setting of `{args.config}`.", ""]
    with ProcessPoolExecutor(max(1, base.optimizer.workers)) as pool:
        for label, stages in (("municipal constants only", []),
                              (f"constants per municipality and stage ({', '.join(args.stages)})",
                               args.stages)):
            cfg = base.model_copy(update={"constants": base.constants.model_copy(
                update={"stages": stages})})
            c, lines = contract_fixed(cfg, fitted, args.iterations, pool)
            v = validate(cfg, deep_merge(fitted, {"relocation": c.overrides()}),
                         pool_map=pool.map)
            table = format_summary(v, cfg)
            print(f"\n{label}\n{table}\n{v.bands.round(2).to_string()}")
            doc += [f"## {label}", "", "```", *lines, "", table, "",
                    v.bands.round(2).to_string(index=False), "```", ""]
            if stages:
                doc += ["Stage constants (young, family, adult, senior):", "", "```",
                        *[f"{k}: {', '.join(f'{x:+.2f}' for x in vals)}"
                          for k, vals in sorted(c.stage.items())], "```", ""]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "stage_constants.md").write_text("\n".join(doc), encoding="utf-8")
    print(args.out / "stage_constants.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
