"""The optimizer's workflow in one call: compile -> save the plan file -> review checks -> apply that file -> diff.

For the process that calls `RebalanceExecutor.execute_rebalance(recommendation)` today::

    from mammon import Rebalancer
    r = Rebalancer(chain="base", wallet=ADDR, runner="rpc", rpc_url=URL)     # or runner="sim"
    result = r.execute(recommendation)        # the optimizer's object as it is, or a dict
    result.success, result.total_gas_used, result.total_gas_cost_usd, result.plan_path, result.record_path
    print(result.summary())                   # the same text as `mammon diff PLAN RECORD`

Nothing here is a second path to the chain: the plan is written with `mammon.plan.planfile.dump` (what
`mammon plan -o` writes), and applied with `mammon.run.api.apply_file` (what `mammon apply` runs), which
loads that saved file, reviews it (hash, step graph, calldata vs decoded view, expiry) and hands it to
the engine (preconditions, policy, dry run, journal, audit log). So the plan file, the run record
(`<plan>.run.json`, or `<plan>.<runner>.run.json` for the simulator) and the audit log in the state
directory are exactly the files the CLI leaves. With the rpc runner the market (holdings, allowances,
rates, gas price) is read from the node and gas is estimated on a fork of it, as `mammon plan --rpc`.

Refusals (bad recommendation, unknown name, float amount, stale or expired plan, policy breach, a
seed phrase that does not derive the wallet, …) raise `MammonError` subclasses; a run whose step fails
or lands outside tolerance returns a result with `success` False (and its record says why).
`mammon rebalance REC.yaml` is this class behind a command line.

A rerun after a crash must not rebalance twice: each compile reads the chain as it is and the plan's hash
(its file name, the replay refusal's key) includes its creation time, so a second `execute` of the same
recommendation is a new plan. Before compiling, an apply of this wallet on this chain that sent a transaction
and did not finish (its record `running`/`interrupted`, or a step `sent`) is refused naming its record and the
`mammon apply` that resumes it (`UnfinishedApply`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from mammon import clock
from mammon.chains import ChainConfig, load_chain
from mammon.compile.compiler import compile_plan
from mammon.diff import Diff, render_text
from mammon.errors import InputError, PlanError
from mammon.files import make_directory
from mammon.market import Market, gas_cost_usd, load_market
from mammon.plan.model import Plan
from mammon.plan.planfile import dump, load
from mammon.recommend import Recommendation
from mammon.run import audit
from mammon.run.session import Unfinished, no_progress, unfinished_runs
from mammon.run.api import apply_file, default_record_path
from mammon.run.record import RunRecord
from mammon.run.policy import enforce, load_policy
from mammon.run.registry import runner_class
from mammon.run.state import default_state_dir, wallet_lock
from mammon.types import wallet_address

__all__ = ["RebalanceResult", "Rebalancer", "UnfinishedApply", "compile_recommendations", "save_plan"]


@dataclass(frozen=True)
class RebalanceResult:
    """What one `execute` did: the plan, its file, the run record, its file, and the expected-vs-actual diff."""

    plan: Plan
    record: RunRecord
    diff: Diff
    plan_path: Path
    record_path: Path

    @property
    def success(self) -> bool:
        """Every step ran and every effect landed within the plan's tolerance."""
        return self.record.status == "ok" and self.diff.ok

    @property
    def total_gas_used(self) -> int:
        return sum(step.gas_used or 0 for step in self.record.steps)

    @property
    def total_gas_cost_eth(self) -> Decimal:
        """Fees as the runner reports them (L2 fee + L1 data fee on a real chain); gas used x the plan's gas
        price where the runner reports none (the simulator)."""
        price_wei = self.plan.market.gas_price_gwei * Decimal(10**9)
        wei = sum((Decimal(s.fee_wei) if s.fee_wei is not None else Decimal(s.gas_used or 0) * price_wei) + Decimal(s.l1_fee_wei or 0)
                  for s in self.record.steps)
        return (Decimal(wei) / Decimal(10**18)).quantize(Decimal("1e-18"))

    @property
    def total_gas_cost_usd(self) -> Decimal:
        """`total_gas_cost_eth` at the plan's ETH price (its market's `prices_usd`, ETH or else WETH)."""
        return gas_cost_usd(self.total_gas_cost_eth, self.plan.market.prices_usd)

    @property
    def tx_hashes(self) -> list[str]:
        return [s.tx_hash for s in self.record.steps if s.tx_hash]

    def summary(self) -> str:
        """The diff as `mammon diff` prints it."""
        return render_text(self.diff)


def compile_recommendations(recs: Sequence[Recommendation], *, chain: ChainConfig, wallet: str, market: Market,
                            rpc_url: str | None = None) -> Plan:
    """One plan for `recs`, as `mammon plan [--rpc URL] --combine` compiles it: with a node, its holdings,
    allowances, rates and gas price replace the market file's, and each step's gas is measured on a fork."""
    if rpc_url:
        from mammon.market_rpc import read_market

        market = read_market(rpc_url, chain, wallet, market)
    plan = compile_plan(list(recs), chain=chain, wallet=wallet, market=market, now=clock.now())
    if rpc_url:
        from mammon.compile.node_gas import estimate_on_node

        plan = estimate_on_node(plan, rpc_url)
    return plan


def save_plan(plan: Plan, path: Path) -> Path:
    """Write the plan file; an existing file is kept when it is this very plan (a rerun resumes its record) and
    refused when it holds another one (it may be the plan a run record belongs to)."""
    if path.is_dir():
        raise InputError("is a directory: name a plan file (-o)", where=str(path))
    if path.exists():
        try:
            held = load(path, verify_hash=False).content_hash
        except InputError:
            held = None
        if held == plan.content_hash:
            return path
        raise InputError(f"already holds {'plan ' + held[:19] + '…' if held else 'something else'}; choose another plan file (-o)", where=str(path))
    make_directory(path.parent, "plan directory")
    dump(plan, path)
    return path


class UnfinishedApply(PlanError):
    """An earlier apply of the wallet on the chain may have sent transactions and did not finish: resume it first."""


def _plan_file_of(record: Path, runner: str) -> Path | None:
    """The plan file next to a run record named as `default_record_path` names it (`X.plan.run.json` for
    `X.plan.yaml`, `X.plan.<runner>.run.json`), when it is there."""
    stem = record.name.removesuffix(".run.json").removesuffix(f".{runner}")
    for suffix in (".yaml", ".yml", ".json"):
        candidate = record.with_name(stem + suffix)
        if candidate != record and candidate.is_file():
            return candidate
    return None


def _unfinished_message(run: Unfinished, wallet: str, chain: ChainConfig) -> str:
    if run.status == "unreadable":
        return (f"an earlier apply of {wallet} on {chain.name} ({chain.chain_id}) sent transactions and its run record {run.record} cannot be "
                "read; find out what it did before rebalancing again (a new plan could repeat its steps)")
    plan_file = _plan_file_of(run.record, run.runner)
    state = run.status + (f", step(s) {', '.join(run.sent)} sent with outcome unknown" if run.sent else "")
    plan_text = str(plan_file) if plan_file else f"PLAN (the file of plan {run.plan_hash[:19]}…)"
    return (f"an unfinished apply of {wallet} on {chain.name} ({chain.chain_id}) may have sent transactions: run record {run.record} ({state}); "
            f"resume it first with `mammon apply {plan_text} --runner {run.runner} -o {run.record}` and the same node options, "
            "then rebalance again (a new plan now would repeat its steps)")


class Rebalancer:
    """Executes recommendations end to end for one wallet on one chain through one runner.

    chain: a registry name (`base`, `base-sepolia`, `devnet`) or one from `chain_config`.
    wallet: the address that signs (checksummed or lower-case).
    runner: `sim` (the in-memory simulator, on `world` or the embedded default world) or `rpc` (a real
        chain at `rpc_url`, else ETH_RPC_URL; the key from `keystore`, MAMMON_PRIVATE_KEY or MAMMON_MNEMONIC
        at `account_index` / `derivation_path`), or any runner registered in `mammon.runners`.
    plan_dir: where plan files go (default `.mammon/plans`), named `<UTC time>-<hash>.plan.yaml`.
    prices: a market file (`--prices`); read_node: read the market from the node before compiling (default:
        with the rpc runner). policy_file, state_dir, confirmations: as `mammon apply` (the policy and a sim
        `world` are read when the Rebalancer is built, and a plan is checked against the policy before its file is written).
    progress: called with each line `mammon apply` would print while running (default: silent).
    """

    def __init__(self, *, chain: str = "base", wallet: str, runner: str = "sim", rpc_url: str | None = None,
                 plan_dir: str | Path = Path(".mammon/plans"), world: str | Path | None = None, prices: str | Path | None = None,
                 keystore: str | Path | None = None, account_index: int | None = None, derivation_path: str | None = None,
                 policy_file: str | Path | None = None, state_dir: str | Path | None = None, chain_config: str | Path | None = None,
                 confirmations: int = 1, read_node: bool | None = None, progress: Callable[[str], None] = no_progress) -> None:
        try:
            self.wallet = wallet_address(wallet)
        except ValueError as exc:
            raise InputError(str(exc), where="wallet") from None
        self.runner = runner
        runner_name = runner_class(runner).name  # an unknown runner is refused before anything is compiled
        self.chain = load_chain(chain, [chain_config] if chain_config else [])
        self.chain_config = chain_config
        self.rpc_url = rpc_url or (os.environ.get("ETH_RPC_URL") if runner_name == "rpc" else None)
        self.read_node = (runner_name == "rpc") if read_node is None else read_node
        if self.read_node and not self.rpc_url:
            raise InputError("reading the market from a node needs rpc_url (or ETH_RPC_URL)", where="rpc_url")
        if isinstance(confirmations, bool) or not isinstance(confirmations, int) or confirmations < 1:
            raise InputError(f"must be a whole number of blocks, 1 or more (the receipt's block is the first), got {confirmations!r}",
                             where="confirmations")
        if runner_name == "rpc":  # a wrong key or seed phrase, or a derivation option it cannot use, is refused before a plan is written
            from mammon.run.keys import check_derivation, load_signer

            if keystore:  # (its password is asked at apply; load_signer checks the options the same way first)
                check_derivation(keystore, account_index, derivation_path)
            else:
                load_signer(account_index=account_index, derivation_path=derivation_path, wallet=self.wallet)
        self.plan_dir = Path(plan_dir)
        if self.plan_dir.exists() and not self.plan_dir.is_dir():  # refused before anything is compiled
            raise InputError("the plan directory is a file, not a directory", where=str(self.plan_dir))
        # Every input file is read now, so a bad one is refused before a plan file is written (apply reads them again).
        self.policy = load_policy(policy_file)
        if world is not None and runner_name == "sim":
            load_market(world)
        self.prices = prices
        self.policy_file = policy_file
        self.state_dir = state_dir
        self.progress = progress
        self.runner_options: dict[str, Any] = {"world": str(world) if world else None, "rpc_url": self.rpc_url,
                                               "keystore": str(keystore) if keystore else None, "confirmations": confirmations,
                                               "account_index": account_index, "derivation_path": derivation_path}

    def plan(self, recommendation: Any) -> Plan:
        """Compile one recommendation (any object with its attributes, a dict, or a Recommendation), or a list
        of them into one plan, without saving or applying it."""
        items = list(recommendation) if isinstance(recommendation, (list, tuple)) else [recommendation]
        if not items:
            raise InputError("nothing to compile", where="recommendation")
        recs = [Recommendation.of(item, where="recommendation" if len(items) == 1 else f"recommendation[{i}]") for i, item in enumerate(items)]
        return compile_recommendations(recs, chain=self.chain, wallet=self.wallet, market=load_market(self.prices),
                                       rpc_url=self.rpc_url if self.read_node else None)

    def check(self, plan: Plan) -> None:
        """What apply would refuse in the plan itself before writing it: the policy's limits (spend, slippage,
        registry), against the spend the audit log holds (a state directory not made yet holds none)."""
        directory = self._state_directory()
        enforce(self.policy, plan, self.chain, directory, clock.now())

    def _state_directory(self) -> Path:
        """Where the audit log this wallet's applies write is read from (not created: `state.state_dir` would)."""
        return Path(self.state_dir) if self.state_dir else default_state_dir()

    def refuse_unfinished(self) -> None:
        """Refuse to compile while an apply of this wallet on this chain that sent transactions is unfinished (killed,
        or interrupted by the node): a new plan, compiled from the chain as that apply left it, would repeat what it
        did (the plan file's name and the replay refusal both follow the new plan's hash). The message names the
        record and the `mammon apply` that resumes it (`apply(plan_path)` here). A runner that simulates is not asked:
        its runs leave nothing unfinished."""
        if runner_class(self.runner).simulated:
            return
        directory = self._state_directory()
        if not (directory / audit.LOG).exists():
            return
        with wallet_lock(directory, self.wallet, self.chain.chain_id):  # an apply running right now is named as such
            found = unfinished_runs(directory, self.wallet, self.chain.chain_id)
        if found:
            raise UnfinishedApply(_unfinished_message(found[0], self.wallet, self.chain), where="rebalance")

    def default_plan_path(self, plan: Plan) -> Path:
        return self.plan_dir / f"{plan.created_at:%Y%m%dT%H%M%SZ}-{plan.content_hash.removeprefix('sha256:')[:12]}.plan.yaml"

    def execute(self, recommendation: Any, *, plan_path: str | Path | None = None, confirm: Callable[[str], bool] | None = None,
                show_review: bool = False) -> RebalanceResult:
        """compile -> save the plan file -> review checks -> apply that file -> diff. Raises MammonError on refusal.

        confirm: asked (with a one-line summary) before anything is sent to a real chain; None sends without
        asking (the caller decided by calling). show_review: pass the review text to `progress` first.
        """
        self.refuse_unfinished()
        plan = self.plan(recommendation)
        self.check(plan)
        path = save_plan(plan, Path(plan_path) if plan_path else self.default_plan_path(plan))
        return self.apply(path, confirm=confirm, show_review=show_review)

    def apply(self, plan_path: str | Path, *, confirm: Callable[[str], bool] | None = None, show_review: bool = False) -> RebalanceResult:
        """Apply a saved plan file exactly as `mammon apply` does, and diff it."""
        path = Path(plan_path)
        record_path = default_record_path(path, runner_class(self.runner).name)
        record, result = apply_file(
            path, runner_name=self.runner, record_path=record_path, policy_file=self.policy_file, state_dir=self.state_dir,
            chain_config=self.chain_config, runner_options=self.runner_options, confirm=confirm, progress=self.progress,
            show_review=show_review,
        )
        return RebalanceResult(plan=load(path), record=record, diff=result, plan_path=path, record_path=record_path)
