"""The recompile check (`check_recompiles`) of bench/perf.py's 126-step plan, warm and cold: the slice of
bench/sim_phases.py's "recompile check" phase, on its own.

    .venv/bin/python bench/recompile_check.py [--reps 15] [--moves 42]

Each rep compiles a plan of other amounts (untimed) and times, in CPU time (`time.process_time`), three checks of it:

* warm: as in the simulator figure, right after the plan was compiled in this process (the per-value memos of
  rendered recipe texts and calldata serve the repeats);
* cold: the rendered-recipe memo and the memos of step parts (effects, calls, tolerances...) cleared first, as in a
  fresh `mammon apply plan.yaml` process, where no recommendation's recipe text has been read and no step built before;
* colder: the ABI encode and decode memos cleared too (a fresh process has encoded none of the plan's calls).

A fresh process also imports Jinja2 and compiles index.yaml and the recipe templates at its first check; those
one-time costs are not in these figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import perf  # noqa: E402  (the plan bench/perf.py applies)

from mammon import abi  # noqa: E402
from mammon.compile import compiler, recipes  # noqa: E402
from mammon.compile.recompile import check_recompiles  # noqa: E402
from mammon.protocols import base  # noqa: E402


def _clear_compile_memos() -> None:
    recipes._actions.cache_clear()
    base.with_interest.cache_clear()
    for memo in compiler.PART_MEMOS:
        memo.cache_clear()


def _cpu(plan: object) -> float:
    t0 = time.process_time()
    check_recompiles(plan)  # type: ignore[arg-type]
    return time.process_time() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--moves", type=int, default=perf.BIG_MOVES)
    args = parser.parse_args()
    check_recompiles(perf.plan_of(args.moves))  # warm-up: imports, parsed files, compiled templates
    samples: dict[str, list[float]] = {"warm": [], "cold": [], "colder": []}
    for variant in range(1, args.reps + 1):
        plan = perf.plan_of(args.moves, variant)
        samples["warm"].append(_cpu(plan))
        _clear_compile_memos()
        samples["cold"].append(_cpu(plan))
        _clear_compile_memos()
        abi._encode_frozen.cache_clear()
        abi._calldata.cache_clear()
        abi._decode_values.cache_clear()
        samples["colder"].append(_cpu(plan))
    steps = len(perf.plan_of(args.moves).steps)
    print(f"recompile check of the {steps}-step plan, CPU ms, median (min) of {args.reps}:")
    for name, values in samples.items():
        print(f"  {name:7s} {statistics.median(values) * 1000:6.2f} ({min(values) * 1000:.2f})")


if __name__ == "__main__":
    main()
