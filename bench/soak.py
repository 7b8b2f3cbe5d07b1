"""Soak benchmark for recovery (issue #11): `mammon apply --runner rpc` as a real process on the devnet,
under kill -9 at every journal transition, seeded RPC faults, nonce theft, replays and concurrent
applies, with 5- and 8-step plans. Everything is counted on the chain afterwards.

    .venv/bin/python bench/soak.py                 # 3 seeds, every kill point (takes a while)
    .venv/bin/python bench/soak.py --seeds 1 --quick

Prints one row per test: runs, completed (the record says ok, after at most 3 reruns), right state (one
mined transaction per step and the wallet's balances within the plan's tolerances), duplicate
transactions, Python tracebacks, audit logs that fail `verify`. Not a timed test: a benchmark.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "faults"))

import checks  # noqa: E402
from chainview import FAST, KEY0, WALLET, Chain, record_of  # noqa: E402
from proxy import FaultProxy  # noqa: E402

PLANS = {"5-step": ("moonwell-usdc-to-aave-weth", False), "8-step": ("batch-rebalance", True)}
NOW = "2026-01-01T00:00:00Z"


@dataclass
class Row:
    name: str
    runs: int = 0
    completed: int = 0
    right: int = 0
    duplicates: int = 0
    tracebacks: int = 0
    attempts: int = 0
    unverifiable: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Env:
    devnet: Any
    chain_cfg: Any
    chain: Chain
    work: Path


def compile_plan(env: Env, example: str, combine: bool, path: Path) -> Path:
    from mammon import clock
    from mammon.compile.compiler import compile_plan as compile_
    from mammon.market import load_market
    from mammon.market_rpc import read_market
    from mammon.plan.planfile import dump
    from mammon.recommend import load_recommendations

    recs = load_recommendations(ROOT / "plans" / "examples" / f"{example}.yaml")
    market = read_market(env.devnet.rpc_url, env.chain_cfg, WALLET, load_market())
    dump(compile_(recs if combine else recs[0], chain=env.chain_cfg, wallet=WALLET, market=market, now=clock.now()), path)
    return path


def apply(env: Env, plan: Path, record: Path, state: Path, *, url: str | None = None, extra: dict[str, str] | None = None,
          args: tuple[str, ...] = (), cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "mammon.cli", "apply", str(plan), "--runner", "rpc", "--yes", "--quiet",
            "--rpc-url", url or env.devnet.rpc_url, "--chain-config", str(env.devnet.chain_config), "-o", str(record), *args]
    full = {k: v for k, v in os.environ.items() if not k.startswith("MAMMON_TEST_")}
    full.update({"MAMMON_PRIVATE_KEY": KEY0, "MAMMON_STATE_DIR": str(state), "MAMMON_NOW": NOW, **FAST, **(extra or {})})
    return subprocess.run(argv, env=full, cwd=cwd or env.work, capture_output=True, text=True, timeout=600)


def judge(env: Env, row: Row, plan: Path, start: checks.Before, record: Path, state: Path, outputs: list[str], others: int = 0) -> None:
    from mammon.run import audit

    row.runs += 1
    row.tracebacks += sum("Traceback" in out for out in outputs)
    rec = record_of(record) if record.exists() else {}
    if rec.get("status") == "ok":
        row.completed += 1
    sent = env.chain.sent_by(WALLET, start.block)
    steps = len(checks.load(plan).steps)
    row.duplicates += max(0, len(sent) - steps - others)
    try:
        checks.right_state(env.chain, plan, start, rec if rec.get("status") == "ok" else None, others)
        row.right += 1
    except AssertionError as exc:
        row.notes.append(str(exc).splitlines()[0][:160])
    try:
        audit.verify(state, [record] if record.exists() else [])
    except Exception as exc:  # noqa: BLE001 - counted, not raised
        row.unverifiable += 1
        row.notes.append(f"audit: {exc}"[:160])
    print(f"{row.name}: {row.runs} runs, {row.completed} completed, {row.right} right, {row.duplicates} duplicates",
          file=sys.stderr, flush=True)


def until_done(env: Env, plan: Path, record: Path, state: Path, outputs: list[str], row: Row, url: str | None = None) -> None:
    for _ in range(3):
        if record.exists() and record_of(record).get("status") == "ok":
            return
        out = apply(env, plan, record, state, url=url)
        row.attempts += 1
        outputs.append(out.stderr)


def fresh(env: Env) -> tuple[Path, Path]:
    d = Path(tempfile.mkdtemp(dir=env.work))
    return d, d / "state"


def kill_points(steps: int, quick: bool) -> list[str]:
    per_step = ["step_signed", "step_journaled", "step_broadcast", "receipt_wait", "step_outcome", "step_done"]
    points = ["preflight:1", "apply_started:1"]
    for k in range(1, steps + 1):
        points += [f"{p}:{k}" for p in per_step if not quick or k in (1, steps)]
    audit_events = 2 * steps + 2  # apply_started, step_sent + step_done per step, apply_finished
    points += [f"audit_appended:{n}" for n in range(1, audit_events + 1, 1 if not quick else 4)]
    return points


def snapshot(env: Env) -> str:
    return str(env.chain("evm_snapshot"))


def revert(env: Env, snap: str) -> None:
    env.chain("evm_revert", snap)


def soak_kills(env: Env, quick: bool) -> Row:
    row = Row("kill -9 at every journal transition, rerun")
    for label, (example, combine) in PLANS.items():
        probe_dir, _ = fresh(env)
        steps = len(checks.load(compile_plan(env, example, combine, probe_dir / "p.yaml")).steps)
        for point in kill_points(steps, quick):
            snap = snapshot(env)
            d, state = fresh(env)
            plan = compile_plan(env, example, combine, d / "plan.yaml")
            start = checks.before(env.chain, plan)
            record = d / "run.json"
            killed = apply(env, plan, record, state, extra={"MAMMON_TEST_KILL_AT": point})
            outputs = [killed.stderr]
            if killed.returncode != -9:
                row.notes.append(f"{label} {point}: not killed (exit {killed.returncode})")
            until_done(env, plan, record, state, outputs, row)
            judge(env, row, plan, start, record, state, outputs)
            revert(env, snap)
    return row


def soak_faults(env: Env, seeds: int) -> Row:
    row = Row("RPC faults (drops, 429/-32603/502, delays past the timeout)")
    for seed in range(1, seeds + 1):
        for label, (example, combine) in PLANS.items():
            snap = snapshot(env)
            d, state = fresh(env)
            plan = compile_plan(env, example, combine, d / "plan.yaml")
            start = checks.before(env.chain, plan)
            record = d / "run.json"
            outputs: list[str] = []
            with FaultProxy(env.devnet.rpc_url, seed=seed, rate=0.15, delay=1.2) as proxy:
                until_done(env, plan, record, state, outputs, row, url=proxy.url)
                row.notes.append(f"seed {seed} {label}: {sum(proxy.stats.values())} faults injected")
            judge(env, row, plan, start, record, state, outputs)
            revert(env, snap)
    return row


def soak_theft(env: Env, seeds: int) -> Row:
    from eth_account import Account

    row = Row("another sender takes the wallet's nonce, rerun")
    for seed in range(1, seeds + 1):
        for label, (example, combine) in PLANS.items():
            snap = snapshot(env)
            d, state = fresh(env)
            plan = compile_plan(env, example, combine, d / "plan.yaml")
            steps = len(checks.load(plan).steps)
            k = seed % steps + 1
            start = checks.before(env.chain, plan)
            record = d / "run.json"
            killed = apply(env, plan, record, state, extra={"MAMMON_TEST_KILL_AT": f"step_journaled:{k}"})
            nonce = record_of(record)["steps"][k - 1].get("nonce")
            if nonce is None:  # DAG order differs from file order: find the journaled one
                nonce = next(s["nonce"] for s in record_of(record)["steps"] if s.get("status") == "sent")
            signed = Account.from_key(KEY0).sign_transaction({"type": 2, "chainId": 31337, "nonce": nonce, "to": WALLET, "value": 0,
                                                              "gas": 21_000, "maxFeePerGas": 10**12, "maxPriorityFeePerGas": 10**9})
            env.chain("eth_sendRawTransaction", "0x" + signed.raw_transaction.hex())
            outputs = [killed.stderr]
            until_done(env, plan, record, state, outputs, row)
            judge(env, row, plan, start, record, state, outputs, others=1)
            revert(env, snap)
    return row


def soak_replay(env: Env) -> Row:
    row = Row("same plan again: new -o, deleted record")
    for label, (example, combine) in PLANS.items():
        snap = snapshot(env)
        d, state = fresh(env)
        plan = compile_plan(env, example, combine, d / "plan.yaml")
        start = checks.before(env.chain, plan)
        record = d / "run.json"
        outputs = [apply(env, plan, record, state).stderr]
        outputs.append(apply(env, plan, d / "again.run.json", state).stderr)
        saved = record.read_bytes()
        record.unlink()
        outputs.append(apply(env, plan, record, state).stderr)
        record.write_bytes(saved)
        judge(env, row, plan, start, record, state, outputs)
        revert(env, snap)
    return row


def soak_concurrent(env: Env, seeds: int) -> Row:
    row = Row("two applies of one plan from two working directories")
    for _ in range(seeds):
        for label, (example, combine) in PLANS.items():
            snap = snapshot(env)
            d, _state = fresh(env)
            plan = compile_plan(env, example, combine, d / "plan.yaml")
            start = checks.before(env.chain, plan)
            home = d / "home"
            procs = []
            for name in ("a", "b"):
                cwd = d / name
                cwd.mkdir()
                (cwd / "plan.yaml").write_bytes(plan.read_bytes())
                env_vars = {k: v for k, v in os.environ.items() if k not in ("MAMMON_STATE_DIR", "XDG_STATE_HOME") and not k.startswith("MAMMON_TEST_")}
                env_vars.update({"HOME": str(home), "MAMMON_PRIVATE_KEY": KEY0, "MAMMON_NOW": NOW, **FAST})
                argv = [sys.executable, "-m", "mammon.cli", "apply", "plan.yaml", "--runner", "rpc", "--yes", "--quiet",
                        "--rpc-url", env.devnet.rpc_url, "--chain-config", str(env.devnet.chain_config)]
                procs.append(subprocess.Popen(argv, cwd=cwd, env=env_vars, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            outputs = [p.communicate(timeout=600)[1] for p in procs]
            winner = next((d / n / "plan.run.json" for n in ("a", "b") if (d / n / "plan.run.json").exists()
                           and record_of(d / n / "plan.run.json").get("status") == "ok"), d / "a" / "plan.run.json")
            judge(env, row, plan, start, winner, home / ".local" / "state" / "mammon", outputs)
            revert(env, snap)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a subset of the kill points")
    parser.add_argument("--only", choices=["kills", "faults", "theft", "replay", "concurrent"], action="append")
    opts = parser.parse_args(argv)
    os.environ["MAMMON_NOW"] = NOW
    from mammon.chains import load_chain_file
    from mammon.devnet import running

    t0 = time.monotonic()
    rows = []
    with tempfile.TemporaryDirectory(prefix="mammon-soak-") as tmp, running(ROOT / ".pytest_cache" / "d" / "mammon-devnet") as devnet:
        env = Env(devnet, load_chain_file(devnet.chain_config), Chain(devnet.rpc_url), Path(tmp))
        only = set(opts.only or ["kills", "faults", "theft", "replay", "concurrent"])
        if "kills" in only:
            rows.append(soak_kills(env, opts.quick))
        if "faults" in only:
            rows.append(soak_faults(env, opts.seeds))
        if "theft" in only:
            rows.append(soak_theft(env, opts.seeds))
        if "replay" in only:
            rows.append(soak_replay(env))
        if "concurrent" in only:
            rows.append(soak_concurrent(env, max(1, opts.seeds // 2)))
    print(f"| test | runs | completed | right state | duplicate txs | tracebacks | audit unverifiable | applies |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r.name} | {r.runs} | {r.completed} | {r.right} | {r.duplicates} | {r.tracebacks} | {r.unverifiable} | {r.runs + r.attempts} |")
    print(f"\n{time.monotonic() - t0:.0f} s (plans: {', '.join(f'{k} {v[0]}' for k, v in PLANS.items())})")
    for r in rows:
        for note in r.notes:
            if not note.startswith("seed "):
                print(f"note: {r.name}: {note}")
    return 0 if all(r.completed == r.right == r.runs and not (r.duplicates or r.tracebacks or r.unverifiable) for r in rows if r.runs) else 1


if __name__ == "__main__":
    sys.exit(main())
