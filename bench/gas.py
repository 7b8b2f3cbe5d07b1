"""Estimated vs actual gas per venue and action, measured on the devnet (real protocol bytecode).

    .venv/bin/python bench/gas.py [--reps 3] [--cache-dir .mammon/devnet] [--json out.json]

For every example recommendation in plans/examples/ (compiled for the devnet against its live
state, as `mammon plan --rpc` does) and each repetition, side by side in one run:

* static  — the compiler's table (`mammon.compile.gas`), what a plan carries without a node;
* node    — `mammon.compile.node_gas.estimate_on_node`: the plan executed on an anvil fork of the
            devnet, each step's gasUsed there;
* actual  — gasUsed of the transaction the rpc runner then sent to the devnet itself;
* sim     — the simulator's gas for the same plan, its world being the devnet's holdings (when
            `mammon.run.sim` is installed).

The devnet's Aave market has borrowers, so its reserves pay interest and every interaction updates the
indexes (as on a live market). Repetition k first mines 40·k empty blocks (8 min of interest accrual
each), so the samples are different states, not the same one replayed; the chain is reverted after each
plan. Examples include plans/examples/devnet/ (the plain OpenZeppelin ERC-4626 vaults). Figures are
medians over all samples of a (venue, action); error = (estimate − actual) / actual, so a positive
error over-estimates. Prints a Markdown table (for the README).

The wallet holds an Aave position in every reserve, so the examples' supplies are all subsequent ones.
A first supply into a reserve (the wallet's scaled balance goes from zero, and Aave sets the reserve's
collateral bit in the user's configuration) is measured separately: per repetition the wallet
withdraws everything from Aave, then supplies USDC (its configuration empty: the costliest case), WETH
(a first supply next to another position), and USDC again (a subsequent supply); the first two are the
row "deposit (first)", the last joins "deposit".
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WALLET = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's public default key 0


def _median(values: list[int]) -> int | None:
    return int(statistics.median(values)) if values else None


def _err(estimate: int | None, actual: int | None) -> str:
    if estimate is None or not actual:
        return "n/a"
    return f"{100.0 * (estimate - actual) / actual:+.1f}%"


def _fmt(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def measure(reps: int, cache_dir: Path, progress: Any = print) -> tuple[dict[tuple[str, str], dict[str, list[int]]], dict[str, Any]]:
    import os

    os.environ.setdefault("MAMMON_PRIVATE_KEY", KEY)
    from mammon import clock, devnet
    from mammon.chains import load_chain_file
    from mammon.compile.compiler import compile_plan
    from mammon.compile.node_gas import estimate_on_node
    from mammon.market import load_market
    from mammon.market_rpc import read_market
    from mammon.recommend import Recommendation, load_recommendations
    from mammon.run.engine import ApplyOptions, apply_plan
    from mammon.node import Node
    from mammon.run.rpc import RpcRunner

    try:
        from mammon.run.sim import SimRunner
    except ImportError:
        SimRunner = None  # type: ignore[assignment,misc]  # noqa: N806

    samples: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    meta: dict[str, Any] = {"plans": 0, "steps": 0, "sim_failures": [], "reps": reps}
    examples = ROOT / "plans" / "examples"
    files = sorted(examples.glob("*.yaml")) + sorted((examples / "devnet").glob("*.yaml"))  # devnet/: the plain ERC-4626 vaults
    recs = [(p.stem, i, r) for p in files for i, r in enumerate(load_recommendations(p))]
    t0 = time.perf_counter()
    with devnet.running(cache_dir) as info, tempfile.TemporaryDirectory() as tmp:
        chain = load_chain_file(info.chain_config)
        node = Node(info.rpc_url)
        now = clock.now()

        def run(recs: list[Recommendation], label: str) -> list[tuple[Any, int]]:
            """Compile `recs` on the devnet's state and apply them with the rpc runner: (step, gasUsed) per step."""
            state = Path(tempfile.mkdtemp(dir=tmp, prefix=label))
            market = read_market(info.rpc_url, chain, WALLET, load_market())
            plan = compile_plan(recs, chain=chain, wallet=WALLET, market=market, now=now)
            record = apply_plan(plan, RpcRunner.create(plan, rpc_url=info.rpc_url), ApplyOptions(
                record_path=state / "rpc.json", state_dir=state, chain=chain, now=lambda: now))
            if record.status != "ok":
                raise SystemExit(f"{label}: the rpc run ended {record.status}")
            return [(step, ran.gas_used or 0) for step, ran in zip(plan.steps, record.steps, strict=True)]

        for rep in range(reps):
            for name, index, rec in recs:
                snap = node.request("evm_snapshot")
                try:
                    if rep:
                        node.request("anvil_mine", [hex(40 * rep)])
                    state = Path(tmp) / f"state-{rep}-{name}-{index}"  # fresh ledger/audit log per run
                    state.mkdir()
                    market = read_market(info.rpc_url, chain, WALLET, load_market())
                    plan = compile_plan(rec, chain=chain, wallet=WALLET, market=market, now=now)
                    measured = estimate_on_node(plan, info.rpc_url)
                    sim_gas: dict[str, int] = {}
                    if SimRunner is not None:
                        try:
                            sim_runner = SimRunner.create(plan, world=market, chain_config=chain, now=now)
                            sim_rec = apply_plan(plan, sim_runner, ApplyOptions(
                                record_path=state / "sim.json", state_dir=state, chain=chain, now=lambda: now))
                            sim_gas = {s.id: s.gas_used for s in sim_rec.steps if s.status == "ok" and s.gas_used}
                        except Exception as exc:  # the simulator is a model; record where it cannot follow
                            meta["sim_failures"].append(f"{name}[{index}] rep {rep}: {exc}"[:200])
                    runner = RpcRunner.create(plan, rpc_url=info.rpc_url)
                    record = apply_plan(plan, runner, ApplyOptions(
                        record_path=state / "rpc.json", state_dir=state, chain=chain, now=lambda: now))
                    if record.status != "ok":
                        raise SystemExit(f"{name}[{index}]: the rpc run ended {record.status}")
                    for step, node_step, ran in zip(plan.steps, measured.steps, record.steps, strict=True):
                        bucket = samples[(step.venue, step.kind)]
                        bucket["static"].append(step.gas.estimate)
                        if node_step.gas.source == "node":
                            bucket["node"].append(node_step.gas.estimate)
                        bucket["actual"].append(ran.gas_used or 0)
                        if step.id in sim_gas:
                            bucket["sim"].append(sim_gas[step.id])
                        meta["steps"] += 1
                    meta["plans"] += 1
                finally:
                    node.request("evm_revert", [snap])
            snap = node.request("evm_snapshot")
            try:
                if rep:
                    node.request("anvil_mine", [hex(40 * rep)])
                first_supplies(run, samples)
            finally:
                node.request("evm_revert", [snap])
            progress(f"  repetition {rep + 1}/{reps} done ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    meta["seconds"] = round(time.perf_counter() - t0, 1)
    meta["sim"] = SimRunner is not None
    return samples, meta


def first_supplies(run: Any, samples: dict[tuple[str, str], dict[str, list[int]]]) -> None:
    """First and subsequent Aave supplies by the same wallet (see the module docstring)."""
    from mammon.recommend import Recommendation

    run([Recommendation(from_protocol="aave_v3", token=t, amount="all") for t in ("USDC", "WETH")], "exit-aave")
    for token, amount, bucket in (("USDC", "1000", "deposit (first)"), ("WETH", "1", "deposit (first)"), ("USDC", "1000", "deposit")):
        for step, used in run([Recommendation(to_protocol="aave_v3", token=token, amount=amount)], f"supply-{token}"):
            if step.venue == "aave_v3":
                b = samples[("aave_v3", bucket)]
                b["static"].append(step.gas.estimate)
                b["actual"].append(used)


def table(samples: dict[tuple[str, str], dict[str, list[int]]], meta: dict[str, Any]) -> str:
    head = "| venue | action | samples | static | node | actual | actual min–max | static error | node error |"
    sep = "|---|---|--:|--:|--:|--:|--:|--:|--:|"
    if meta["sim"]:
        head += " sim | sim error |"
        sep += "--:|--:|"
    lines = [head, sep]
    for (venue, kind), b in sorted(samples.items()):
        actual = _median(b["actual"])
        static, node = _median(b["static"]), _median(b["node"])
        spread = f"{min(b['actual']):,}–{max(b['actual']):,}" if b["actual"] else "n/a"
        row = (f"| {venue} | {kind} | {len(b['actual'])} | {_fmt(static)} | {_fmt(node)} | {_fmt(actual)} | {spread} | "
               f"{_err(static, actual)} | {_err(node, actual)} |")
        if meta["sim"]:
            sim = _median(b["sim"])
            row += f" {_fmt(sim)} | {_err(sim, actual)} |"
        lines.append(row)
    lines.append("")
    lines.append(f"Medians over {meta['plans']} plan runs ({meta['steps']} steps: every example recommendation × {meta['reps']} "
                 f"repetitions) on the devnet; measured in {meta['seconds']} s. error = (estimate − actual) / actual.")
    if meta["sim_failures"]:
        lines.append(f"The simulator could not run {len(meta['sim_failures'])} of them (first: {meta['sim_failures'][0]}).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions per example (default 3)")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".mammon" / "devnet", help="devnet snapshot cache")
    parser.add_argument("--json", type=Path, help="also write the raw samples here")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    samples, meta = measure(max(1, args.reps), args.cache_dir)
    print(table(samples, meta))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "samples": {f"{v}/{k}": b for (v, k), b in samples.items()}}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
