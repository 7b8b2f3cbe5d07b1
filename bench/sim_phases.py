"""Where a simulated apply spends its time, phase by phase: the breakdown behind bench/perf.py's simulator figure.

    .venv/bin/python bench/sim_phases.py [--reps 9] [--moves 42]

Applies the plan bench/perf.py applies (42 Moonwell -> Aave moves, 126 steps; each rep a plan of other
amounts, a fresh world, the record written once under a temporary directory) and prints the median CPU time
(`time.process_time`, so other load on the machine bends it less) of each phase of `apply_plan`: the review,
the recompile check, the preconditions, the policy, the preflight dry run (none when the apply succeeds: its
one pass is the run, `engine._speculate`), the run itself, the record and audit writes, and inside the engine
passes the simulator's own calls (sign, broadcast, balance reads).
Phases are timed by wrapping the engine's and the runner's functions for the measurement only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import perf  # noqa: E402  (the plan and the apply bench/perf.py measure)

from mammon.run import audit, engine  # noqa: E402
from mammon.run.sim import SimRunner  # noqa: E402

PHASES = {  # engine function -> what it is
    "review": "review (calldata against the views, registry)",
    "check_recompiles": "recompile check (compile again, compare)",
    "check_preconditions": "preconditions",
    "enforce": "policy (spend derived from calldata)",
    "preflight": "preflight dry run (whole plan)",
    "execute": "engine passes (the run, any preflight's)",
    "_write_simulated": "record + audit log written",
}
RUNNER = ("sign", "broadcast", "wait", "balances")


def _timed(owner: Any, name: str, spent: dict[str, float]) -> None:
    inner: Callable[..., Any] = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[name] += time.process_time() - t0

    setattr(owner, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--moves", type=int, default=perf.BIG_MOVES)
    args = parser.parse_args()
    spent: dict[str, float] = defaultdict(float)
    for name in PHASES:
        _timed(engine, name, spent)
    for name in RUNNER:
        _timed(SimRunner, name, spent)
    _timed(audit, "append_many", spent)
    samples: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        perf.sim_apply(perf.plan_of(args.moves), Path(tmp), clock=time.process_time)  # warm-up: imports, parsed files
        for variant in range(1, args.reps + 1):
            plan = perf.plan_of(args.moves, variant)  # compiled just before (untimed): no pile of plans for the GC to walk
            spent.clear()
            samples["total"].append(perf.sim_apply(plan, Path(tmp), clock=time.process_time))
            for name in (*PHASES, *RUNNER, "append_many"):
                samples[name].append(spent[name])
    steps = len(perf.plan_of(args.moves).steps)
    total = statistics.median(samples["total"])
    print(f"{steps}-step simulated apply: {total * 1000:.1f} ms CPU (median of {args.reps}) = {steps / total:,.0f} steps/s")
    for name, what in PHASES.items():
        print(f"  {what:45s} {statistics.median(samples[name]) * 1000:6.1f} ms")
    print(f"    of which the audit log (append_many)        {statistics.median(samples['append_many']) * 1000:6.1f} ms")
    print("  inside the engine passes, the sim runner's calls:")
    for name in RUNNER:
        print(f"    {name:43s} {statistics.median(samples[name]) * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
