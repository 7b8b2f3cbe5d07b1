"""How fast mammon is where people wait (issue #10), each figure beside what it is compared with.

    .venv/bin/python bench/perf.py [--reps 9] [--no-rpc] [--cache-dir .mammon/devnet-cache]   (make bench-perf)

Figures (medians; a ratio compares runs interleaved with each other, so a busy machine slows both sides):

* cold start: `mammon --help` and `mammon show plan.yaml` (a 3-step plan), whole processes, beside
  `python -c pass` in the same interpreter;
* simulator: steps/s through the engine (`apply_plan`, sim runner, a fresh world and a plan of other
  amounts each time; a simulated run keeps its record and audit events in memory and writes each once, at
  the end) for a 126-step plan, as the issue measured it (review, preconditions, policy, preflight, run,
  record) and as `apply_plan` is now (the recompile check, a whole compile of the plan, added since);
  `mammon apply` of that plan on the simulator as a whole process, minus `python -c pass`;
* growth with plan size (1/5/20/50 moves): compile, validate, show and a simulated apply in process, in
  CPU time (`time.process_time`, so other load on the machine does not bend the ratios), as ms per added
  step; "linear" when the cost of a step added between 20 and 50 moves is at most 1.5x
  that of one added between 1 and 5 moves;
* compile throughput: one-move plans compiled per second in process, each recommendation of another amount
  (the per-value memos of calldata and recipe texts only serve what one compile and its checks repeat);
* rpc apply: `mammon apply --runner rpc` of a 3-step plan on the devnet (anvil with the real protocols)
  beside `bench/handwritten_web3.py` sending the same calls on the same chain (reverted between runs),
  with automine, 1 s and 2 s blocks. Whole processes, mammon with all its checks: verify and recompile,
  preconditions, policy, the whole-plan preflight on an anvil fork, the fsynced journal and audit log,
  balances measured around each step; one confirmation on both sides (the receipt).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WALLET = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's public default key 0
NOW_TEXT = "2026-01-01T00:00:00Z"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
BIG_MOVES = 42  # 3 steps each: a 126-step plan


@dataclass
class Row:
    figure: str
    value: str
    comparison: str
    ratio: str
    goal: str
    met: bool | None

    def cells(self) -> list[str]:
        met = "" if self.met is None else ("yes" if self.met else "**no**")
        return [self.figure, self.value, self.comparison, self.ratio, self.goal, met]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, load average {_load()} at start; "
            f"Python {platform.python_version()}")


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("MAMMON_")}
    out.update({"MAMMON_NOW": NOW_TEXT, **extra})
    return out


def timed(argv: Sequence[str], environ: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    run = subprocess.run(list(argv), env=environ, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, argv))} exited {run.returncode}:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    return seconds


def interleaved(commands: dict[str, Callable[[], float]], reps: int) -> dict[str, list[float]]:
    """Each command once per round, in turn (rotated each round), for `reps` rounds after one warm-up round."""
    names = list(commands)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for n in names:
        commands[n]()
    for r in range(reps):
        for n in names[r % len(names):] + names[:r % len(names)]:
            samples[n].append(commands[n]())
    return samples


def plan_of(moves: int, variant: int = 0) -> Any:
    """A plan of `moves` Moonwell -> Aave moves, each of another amount (10, 11, 12... USDC), so no step's calldata
    repeats another's and no per-value memo serves one move from another; each `variant` shifts every amount
    (by `variant` millionths), so none carries over between variants either, as successive recommendations."""
    from mammon import Recommendation, compile_plan

    base = 10 if moves > 1 else 1000
    recs = [Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount=f"{base + i}.{variant:06d}")
            for i in range(moves)]
    return compile_plan(recs, chain="base", wallet=WALLET, now=NOW)


def sim_apply(plan: Any, where: Path, clock: Callable[[], float] = time.perf_counter, *, recompiled: bool = True) -> float:
    """Seconds (by `clock`) for one simulated apply in process: fresh world; the record is kept in memory and
    written once at the end, under `where`. `apply_plan` reviews the plan and compiles it again from its recorded
    inputs (the recompile check); with `recompiled=False` the clock covers what `apply_plan` did when issue #10
    measured it (aa0637c): the review, identity, preconditions, policy, preflight, run and record, with the
    plan handed over reviewed (the review timed) and not compiled again (`bench/recompile_check.py` times that)."""
    from mammon.review import review
    from mammon.run.engine import ApplyOptions, Verified, apply_plan
    from mammon.run.sim import SimRunner

    with tempfile.TemporaryDirectory(dir=where) as tmp:
        t0 = clock()
        verified = None if recompiled else Verified(plan, None, review(plan, chain=None, now=NOW, allow_expired=True))
        runner = SimRunner.create(plan, now=NOW)
        rec = apply_plan(plan, runner, ApplyOptions(record_path=Path(tmp) / "run.json", state_dir=Path(tmp), now=lambda: NOW, verified=verified))
        seconds = clock() - t0
    if rec.status != "ok":
        raise SystemExit(f"simulated apply ended {rec.status}")
    return seconds


# --- the figures -------------------------------------------------------------------------------------


def cold_start(work: Path, reps: int) -> list[Row]:
    from mammon.plan.planfile import dump

    plan_path = work / "plan.yaml"
    dump(plan_of(1), plan_path)
    e = env()
    # Bytecode as an installed mammon has it (pip compiles at install): with PYTHONDONTWRITEBYTECODE set and no
    # __pycache__, every run would compile mammon's sources again and this figure would time the compiler.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "mammon")], check=True, capture_output=True)
    samples = interleaved({
        "pass": lambda: timed([sys.executable, "-c", "pass"], e, work),
        "help": lambda: timed([BIN / "mammon", "--help"], e, work),
        "show": lambda: timed([BIN / "mammon", "show", plan_path], e, work),
    }, reps)
    base = median(samples["pass"])
    rows = []
    for key, figure, goal in (("show", "`mammon show plan.yaml`, whole process", 0.3), ("help", "`mammon --help`", 0.15)):
        m = median(samples[key])
        rows.append(Row(figure, f"{m:.3f} s", f"`python -c pass` {base:.3f} s", f"{m / base:.1f}x", f"<= {goal} s", m <= goal))
    return rows


def simulator(work: Path, reps: int) -> list[Row]:
    from mammon.plan.planfile import dump

    plan = plan_of(BIG_MOVES)
    n = len(plan.steps)
    # Each apply a plan of its own, compiled just before (untimed) and dropped after, so nothing one compiled or
    # verified serves another, and the garbage collector has no pile of earlier plans to walk.
    variants = iter(range(1, 10**6))
    samples = interleaved({"whole": lambda: sim_apply(plan_of(BIG_MOVES, next(variants)), work),
                           "engine": lambda: sim_apply(plan_of(BIG_MOVES, next(variants)), work, recompiled=False)}, reps)
    rate, engine_rate = n / median(samples["whole"]), n / median(samples["engine"])
    rows = [Row(f"simulator: steps/s through the engine as issue #10 measured it (`apply_plan`, {n}-step plan, fresh world: "
                "review, preconditions, policy, preflight, run, record written once)", f"{engine_rate:,.0f} steps/s",
                f"with the recompile check added since: {rate:,.0f} steps/s", f"{engine_rate / rate:.2f}x", ">= 5,000 steps/s", engine_rate >= 5000),
            Row(f"simulator: steps/s through `apply_plan` as it is now ({n}-step plan; the plan also compiled again from its "
                "recorded inputs and compared, since ba48c2a)", f"{rate:,.0f} steps/s", "", "", "", None)]
    plan_path = work / "big.yaml"
    dump(plan, plan_path)
    e = env()
    state = work / "apply-state"

    def apply_once() -> float:
        record = work / "big.sim.run.json"
        record.unlink(missing_ok=True)
        shutil.rmtree(state, ignore_errors=True)
        return timed([BIN / "mammon", "apply", plan_path, "--quiet", "-o", record, "--state-dir", state], e, work)

    samples = interleaved({"pass": lambda: timed([sys.executable, "-c", "pass"], e, work), "apply": apply_once}, max(3, reps // 2))
    base, whole = median(samples["pass"]), median(samples["apply"])
    rows.append(Row(f"`mammon apply` of the {n}-step plan on the simulator, beyond interpreter start", f"{whole - base:.3f} s",
                    f"whole process {whole:.3f} s, `python -c pass` {base:.3f} s", "", "<= 0.5 s", whole - base <= 0.5))
    return rows


def growth(work: Path, reps: int) -> list[Row]:
    from mammon.api import validate_plan
    from mammon.plan.planfile import dump
    from mammon.review.render import text

    sizes = (1, 5, 20, 50)
    cost: dict[str, dict[int, float]] = {"compile": {}, "validate": {}, "show": {}, "simulated apply": {}}
    steps: dict[int, int] = {}
    variants = iter(range(1, 10**6))  # every measurement a plan of other amounts: no memo serves one from another

    def fresh_file(moves: int) -> Path:
        path = work / f"growth-{moves}.yaml"
        dump(plan_of(moves, next(variants)), path)
        return path

    for moves in sizes:
        steps[moves] = len(plan_of(moves).steps)
        # Each input made just before it is measured (and dropped after): a process holding hundreds of plans
        # would time the garbage collector walking them, more often the bigger the plan.
        measures: dict[str, Callable[[], float]] = {
            "compile": lambda m=moves: _cpu_seconds(lambda: plan_of(m, next(variants))),
            "validate": lambda m=moves: _cpu_seconds(lambda p=fresh_file(m): validate_plan(p, now=NOW)),
            "show": lambda m=moves: _cpu_seconds(lambda p=fresh_file(m): text(validate_plan(p, now=NOW))),
            "simulated apply": lambda m=moves: sim_apply(plan_of(m, next(variants)), work, clock=time.process_time),
        }
        for name, measure in measures.items():
            measure()
            cost[name][moves] = median([measure() for _ in range(reps)])
    rows = []
    for name, by_size in cost.items():
        def slope(a: int, b: int) -> float:
            return (by_size[b] - by_size[a]) / (steps[b] - steps[a]) * 1000

        first, last = slope(1, 5), slope(20, 50)
        ms = " / ".join(f"{by_size[m] * 1000:.0f}" for m in sizes)
        rows.append(Row(f"growth: {name} (1/5/20/50 moves = {'/'.join(str(steps[m]) for m in sizes)} steps; CPU time)",
                        f"{ms} ms; {first:.2f} -> {last:.2f} ms per added step", "ms per step added at 1->5 vs 20->50 moves",
                        f"{last / first:.2f}x" if first > 0 else "n/a", "linear (<= 1.5x)", first > 0 and last / first <= 1.5))
    return rows


def _cpu_seconds(fn: Callable[[], object]) -> float:
    """CPU seconds of this process for `fn()`: a ratio of costs that the machine's other load does not bend."""
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def compile_throughput(reps: int) -> list[Row]:
    rounds = []
    variant = 0
    for _ in range(max(3, reps // 2)):
        n = 100
        t0 = time.perf_counter()
        for _ in range(n):
            variant += 1
            plan_of(1, variant)  # recommendations differ in amount, so each compile encodes new calldata
        rounds.append(n / (time.perf_counter() - t0))
    rate = median(rounds)
    return [Row("compile throughput, one-move plans in process", f"{rate:,.0f} plans/s", "", "", ">= 500 plans/s", rate >= 500)]


def rpc_apply(work: Path, reps: int, cache_dir: Path) -> list[Row]:
    from mammon import devnet
    from mammon.chains import load_chain_file
    from mammon.compile.compiler import compile_plan
    from mammon.devnet.anvil import rpc
    from mammon.market import load_market
    from mammon.market_rpc import read_market
    from mammon.plan.planfile import dump
    from mammon import Recommendation

    # Bytecode as pip installs it, for mammon as for web3 (see cold_start): not the compiler's time on mammon's side only.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "mammon")], check=True, capture_output=True)
    rows = []
    with devnet.running(cache_dir) as info:
        chain = load_chain_file(info.chain_config)
        market = read_market(info.rpc_url, chain, WALLET, load_market())
        plan = compile_plan(Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000"),
                            chain=chain, wallet=WALLET, market=market, now=NOW)
        plan_path = work / "rpc-plan.json"
        dump(plan, plan_path)
        e = env(MAMMON_PRIVATE_KEY=KEY, MAMMON_DEVNET_CONFIG=str(info.chain_config))

        def reverted(run: Callable[[], float]) -> Callable[[], float]:
            def go() -> float:
                snap = rpc(info.rpc_url, "evm_snapshot", [])
                try:
                    return run()
                finally:
                    rpc(info.rpc_url, "evm_revert", [snap])
            return go

        def mammon_apply() -> float:
            with tempfile.TemporaryDirectory(dir=work) as tmp:
                return timed([BIN / "mammon", "apply", plan_path, "--runner", "rpc", "--rpc-url", info.rpc_url, "--yes", "--quiet",
                              "-o", Path(tmp) / "run.json", "--state-dir", Path(tmp) / "state"], e, work)

        def by_hand() -> float:
            return timed([sys.executable, ROOT / "bench" / "handwritten_web3.py", plan_path, info.rpc_url], e, work)

        for mode, interval in (("automine", 0), ("1 s blocks", 1), ("2 s blocks", 2)):
            if interval:
                rpc(info.rpc_url, "evm_setIntervalMining", [interval])
            else:
                rpc(info.rpc_url, "evm_setAutomine", [True])
            samples = interleaved({"mammon": reverted(mammon_apply), "web3": reverted(by_hand)}, max(3, reps // 2))
            m, h = median(samples["mammon"]), median(samples["web3"])
            rows.append(Row(f"`mammon apply --runner rpc`, {len(plan.steps)}-step plan, {mode}", f"{m:.2f} s",
                            f"hand-written web3.py script {h:.2f} s", f"{m / h:.2f}x", "<= 1.05x", m / h <= 1.05))
        rpc(info.rpc_url, "evm_setAutomine", [True])
    return rows


def table(rows: list[Row]) -> str:
    head = ["figure", "mammon", "compared with", "ratio", "goal", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=9, help="interleaved rounds per figure (median taken)")
    parser.add_argument("--no-rpc", action="store_true", help="skip the rpc figures (no anvil needed)")
    parser.add_argument("--only", choices=["cold start", "simulator", "growth", "compile", "rpc apply"], help="measure one group of figures")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".mammon" / "devnet-cache", help="devnet snapshot cache")
    args = parser.parse_args()
    os.environ["MAMMON_NOW"] = NOW_TEXT
    header = f"Machine: {machine()}."
    t0 = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="mammon-perf-", dir=ROOT / ".mammon" if (ROOT / ".mammon").is_dir() else None) as tmp:
        work = Path(tmp)
        for name, figure in (("cold start", lambda: cold_start(work, args.reps)), ("simulator", lambda: simulator(work, args.reps)),
                             ("growth", lambda: growth(work, args.reps)), ("compile", lambda: compile_throughput(args.reps)),
                             ("rpc apply", None if args.no_rpc else (lambda: rpc_apply(work, args.reps, args.cache_dir)))):
            if figure is None or (args.only and name != args.only):
                continue
            print(f"measuring {name}…", file=sys.stderr)
            rows += figure()
    print(header)
    print()
    print(table(rows))
    print()
    print(f"Medians of {args.reps} interleaved rounds (fewer for the slow figures); bench/perf.py ran {time.perf_counter() - t0:.0f} s; "
          f"load average {_load()} at end.")


if __name__ == "__main__":
    main()
