"""Every example recommendation, compiled against the devnet's live state and applied with the rpc runner.

Real signed EIP-1559 transactions to anvil running the protocols' own bytecode: the on-chain balance
changes must equal the plan's expected effects within the plan's tolerances, and the diff text is
snapshotted (deterministic: pinned clock, pinned block times, state reverted after each test). The
same plan on the simulator, its world being the devnet's holdings, must measure the same effects
(exactly, except from a Uniswap V3 swap on: the simulator prices it on virtual reserves, ~1e-12 apart).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from mammon.diff import diff, render_text
from mammon.recommend import load_recommendations
from rpchelp import nonce

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "plans" / "examples"
# plans/examples, and plans/examples/devnet: those need the devnet's generic ERC-4626 venue (plain OpenZeppelin vaults)
EXAMPLE_FILES = {path.stem: path for path in sorted(EXAMPLES_DIR.glob("*.yaml")) + sorted((EXAMPLES_DIR / "devnet").glob("*.yaml"))}
CASES = [(stem, i) for stem, path in EXAMPLE_FILES.items() for i in range(len(load_recommendations(path)))]


def _stable(text: str) -> str:
    """The diff text without the plan hash (it changes with any compiler or deployment detail, not with the effects)."""
    return re.sub(r"sha256:[0-9a-f]+…?", "sha256:…", text)


@pytest.mark.parametrize(("example", "index"), CASES, ids=[f"{e}[{i}]" for e, i in CASES])
def test_example_applies_on_devnet(example: str, index: int, compile_on_devnet: Any, apply_rpc: Any, key0: str,
                                   w3: Any, mammon_snapshot: Any, chain: Any, rpc_devnet: Any, tmp_path: Path) -> None:
    rec = load_recommendations(EXAMPLE_FILES[example])[index]
    plan = compile_on_devnet(rec)
    on_sim = _apply_on_simulator(plan, chain, rpc_devnet, tmp_path)
    before = nonce(w3)
    applied = apply_rpc(plan)
    record = applied.record
    result = diff(plan, record)
    assert record.status == "ok", render_text(result)
    assert result.ok, render_text(result)
    assert nonce(w3) == before + len(plan.steps)  # one transaction per step, no more
    for step in record.steps:
        assert step.tx_hash and step.raw_tx and not step.simulated
        receipt = w3.eth.get_transaction_receipt(step.tx_hash)
        assert receipt["status"] == 1 and receipt["gasUsed"] == step.gas_used
    assert _stable(render_text(result, fees=False)) == mammon_snapshot
    if on_sim is not None:  # simulator and chain agree within the plan's stated tolerances
        assert on_sim.status == "ok" and diff(plan, on_sim).ok
        # Both runs land within the plan's tolerances (diff ok). Beyond that they agree exactly, except where time
        # enters: an interest-bearing balance earns its own seconds of interest on each chain (the simulator's
        # clock is not the devnet's), and from a Uniswap V3 swap on amounts carry its ~1e-12 difference (the
        # simulator prices it on virtual reserves); what follows such a step carries the difference on (~1e-8).
        drift = False
        for sim_step, chain_step in zip(on_sim.steps, record.steps, strict=True):
            step = plan.step(sim_step.id)
            timed = any(e.tolerance.reason for e in step.effects) or any(r.ref for r in step.refs) and drift
            drift = drift or timed or step.venue == "uniswap_v3"
            for sim_e, chain_e in zip(sim_step.effects, chain_step.effects, strict=True):
                assert (sim_e.account, sim_e.token) == (chain_e.account, chain_e.token)
                stated = next((e.tolerance for e in step.effects if (e.account, e.token_address) == (sim_e.account, sim_e.token_address)), None)
                bound = stated.value if drift and stated is not None and stated.kind == "wei" else 0
                if drift:
                    bound = max(bound, abs(chain_e.delta) // 10**6)
                assert abs(sim_e.delta - chain_e.delta) <= bound, (sim_step.id, sim_e.token, sim_e.delta, chain_e.delta, bound)


def _apply_on_simulator(plan: Any, chain: Any, devnet: Any, tmp_path: Path) -> Any:
    """The plan on the `sim` runner whose world is the devnet's current state (None if no simulator is installed)."""
    try:
        from mammon.run.sim import SimRunner
    except ImportError:
        return None
    from mammon import clock
    from mammon.market import load_market
    from mammon.market_rpc import read_market
    from mammon.run.engine import ApplyOptions, apply_plan

    world = read_market(devnet.rpc_url, chain, plan.wallet, load_market())
    runner = SimRunner.create(plan, world=world, chain_config=chain)
    (tmp_path / "sim").mkdir()
    return apply_plan(plan, runner, ApplyOptions(record_path=tmp_path / "sim" / "run.json", state_dir=tmp_path / "sim", chain=chain, now=clock.now))
