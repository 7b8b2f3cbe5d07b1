"""What the policy check of an apply costs as the audit log grows (issue #10): it must not grow with the log.

    .venv/bin/python bench/policy_log.py [--reps 9] [--events 10000]

Enforces a policy with a daily limit (`mammon.run.policy.enforce`, the spend derived from the calldata, the day's
spend from the audit log) for bench/perf.py's 126-step plan, reviewed first as apply does, against a state
directory whose log is empty, then holds `--events` events of earlier simulated and real applies: the first
check after they were written (it reads them all and writes `audit.index`), a check with nothing new, and a
check after one more simulated apply of the plan (254 new lines). Prints median CPU ms (`time.process_time`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import perf  # noqa: E402  (the plan bench/perf.py applies)

from mammon.review import review  # noqa: E402
from mammon.run import audit  # noqa: E402
from mammon.run.policy import Policy, enforce  # noqa: E402
from mammon.run.session import registry_chain  # noqa: E402

INDEX = "audit.index"


def _history(directory: Path, events: int) -> None:
    """`events` events: simulated applies of 254 events each, and every tenth a real one of 10 spends."""
    n, run = 0, 0
    while n < events:
        run += 1
        when = perf.NOW - timedelta(days=3) + timedelta(minutes=run)
        real = run % 10 == 0
        batch = [("apply_started", when, {"plan": f"sha256:{run:064x}", "run": f"r{run}", "simulated": not real})]
        for i in range(10 if real else 126):
            tx = f"0x{run:032x}{i:032x}"
            batch.append(("step_sent", when, {"plan": f"sha256:{run:064x}", "run": f"r{run}", "step": f"s{i}", "tx": tx, "simulated": not real}))
            batch.append(("step_done", when, {"plan": f"sha256:{run:064x}", "run": f"r{run}", "step": f"s{i}", "status": "ok", "tx": tx,
                                              "simulated": not real, "spent": {"USDC": "1000000"} if real else {}}))
        batch = batch[:events - n]
        audit.append_many(directory, batch)
        n += len(batch)


def _cpu_ms(fn: Callable[[], object]) -> float:
    t0 = time.process_time()
    fn()
    return (time.process_time() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    plan = perf.plan_of(perf.BIG_MOVES)
    chain = registry_chain(plan)
    policy = Policy(max_spend_per_day={"USDC": "1000000000"})
    review(plan, chain=chain, now=perf.NOW, allow_expired=True)
    one_apply = [("step_done", perf.NOW, {"plan": "sha256:x", "run": "x", "step": f"s{i}", "tx": f"0x{i:064x}", "simulated": True, "spent": {}})
                 for i in range(254)]
    samples: dict[str, list[float]] = {"empty log": [], f"{args.events:,} events, first check": [], f"{args.events:,} events, nothing new": [],
                                       f"{args.events:,} events, one apply (254 lines) new": []}
    check = lambda directory: enforce(policy, plan, chain, directory, perf.NOW)  # noqa: E731
    names = list(samples)
    with tempfile.TemporaryDirectory() as tmp:
        empty, grown = Path(tmp) / "empty", Path(tmp) / "grown"
        empty.mkdir()
        grown.mkdir()
        _history(grown, args.events)
        check(empty)
        for _ in range(args.reps):
            samples[names[0]].append(_cpu_ms(lambda: check(empty)))
            (grown / INDEX).unlink(missing_ok=True)
            samples[names[1]].append(_cpu_ms(lambda: check(grown)))
            samples[names[2]].append(_cpu_ms(lambda: check(grown)))
            audit.append_many(grown, one_apply)
            samples[names[3]].append(_cpu_ms(lambda: check(grown)))
    print(f"policy check of the {len(plan.steps)}-step plan (reviewed first), median CPU of {args.reps}:")
    for name, values in samples.items():
        print(f"  {name:45s} {statistics.median(values):8.2f} ms")


if __name__ == "__main__":
    main()
