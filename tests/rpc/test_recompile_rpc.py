"""Plans compiled with `--rpc` (live reads and node-measured gas) record what the compile used, so
`validate` compiles them again without the node and still finds every edit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mammon.plan.planfile import dump, load
from mammon_test_support import EXAMPLES_DIR, replace_step
from rpchelp import WALLET


def test_an_rpc_plan_recompiles_offline_and_an_edited_gas_is_refused(rpc_devnet: Any, mammon: Any, w3: Any, tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    mammon("plan", EXAMPLES_DIR / "moonwell-to-aave.yaml", "--chain", "devnet", "--chain-config", rpc_devnet.chain_config,
           "--wallet", WALLET, "--rpc", rpc_devnet.rpc_url, "-o", path)
    plan = load(path)
    assert plan.inputs is not None and plan.inputs.node_gas is not None
    assert {s.gas.source for s in plan.steps} == {"node"}
    assert plan.inputs.market.source.startswith("node ")
    w3.provider.make_request("evm_mine", [])  # the chain moves on: the recompile uses the recorded reads, not the node
    assert mammon("validate", path, "--chain-config", rpc_devnet.chain_config).stdout.startswith(f"ok: {path} is valid")
    step = plan.steps[0]
    edited = tmp_path / "edited.yaml"
    from mammon.plan.planfile import seal

    dump(seal(replace_step(plan, step.id, gas=step.gas.model_copy(update={"estimate": step.gas.estimate + 1}))), edited)
    assert mammon.refuses("validate", edited, "--chain-config", rpc_devnet.chain_config).startswith(
        f"{edited}: steps[0].gas.estimate: the file says {step.gas.estimate + 1} but compiling the plan's own inputs gives {step.gas.estimate}")
