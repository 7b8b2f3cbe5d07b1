"""What the audit log's checks of a real apply cost as the log grows (issue #10): they must not grow with it.

    .venv/bin/python bench/policy_log.py [--reps 9] [--events 10000]

The policy check: enforces a policy with a daily limit (`mammon.run.policy.enforce`, the spend derived from the
calldata, the day's spend from the audit log) for bench/perf.py's 126-step plan, reviewed first as apply does.
The replay check: `mammon.run.audit.applied`, whether that plan was applied already (it was not: the answer
needs all of the log). Each against a state directory whose log is empty, then holds `--events` events of
earlier simulated and real applies: the first check after they were written (it reads them all and writes
`audit.index`), a check with nothing new, and a check after one more simulated apply (254 new lines). Prints
median CPU ms (`time.process_time`). Run it with another checkout's python to compare (its `mammon` is used).
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
from mammon.run.audit_index import INDEX  # noqa: E402
from mammon.run.policy import Policy, enforce  # noqa: E402
from mammon.run.session import registry_chain  # noqa: E402


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
    checks: dict[str, Callable[[Path], object]] = {
        f"policy check of the {len(plan.steps)}-step plan (reviewed first)": lambda directory: enforce(policy, plan, chain, directory, perf.NOW),
        "replay check (audit.applied) of the plan": lambda directory: audit.applied(directory, plan.content_hash),
    }
    rows = ["empty log", f"{args.events:,} events, first check", f"{args.events:,} events, nothing new",
            f"{args.events:,} events, one apply (254 lines) new"]
    samples: dict[tuple[str, str], list[float]] = {(title, row): [] for title in checks for row in rows}
    with tempfile.TemporaryDirectory() as tmp:
        empty, grown = Path(tmp) / "empty", Path(tmp) / "grown"
        empty.mkdir()
        grown.mkdir()
        _history(grown, args.events)
        for check in checks.values():
            check(empty)
        for _ in range(args.reps):
            for title, check in checks.items():
                samples[title, rows[0]].append(_cpu_ms(lambda: check(empty)))
                (grown / INDEX).unlink(missing_ok=True)
                samples[title, rows[1]].append(_cpu_ms(lambda: check(grown)))
                samples[title, rows[2]].append(_cpu_ms(lambda: check(grown)))
                audit.append_many(grown, one_apply)
                samples[title, rows[3]].append(_cpu_ms(lambda: check(grown)))
    for title in checks:
        print(f"{title}, median CPU of {args.reps}:")
        for row in rows:
            print(f"  {row:45s} {statistics.median(samples[title, row]):8.2f} ms")


if __name__ == "__main__":
    main()
