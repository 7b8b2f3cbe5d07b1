"""A plan that cannot run is not a plan (issue #8, cause 3).

`plan --rpc` dry-runs the plan on a fork of the node; when a step fails there the plan is refused (exit 2,
naming the step and the decoded revert reason) and nothing is written. `--allow-failing` writes it, marked:
`show` lists the failure under Warnings and `validate` exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mammon.devnet.artifacts import load_artifact
from mammon_test_support import EXAMPLES_DIR, Mammon
from rpchelp import WALLET


def cap_aave_usdc_supply(w3: Any, rpc_devnet: Any) -> None:
    """Aave's own rule makes the supply revert: a supply cap of 1 USDC, far below what the reserve holds."""
    dep = rpc_devnet.deployment
    configurator = w3.eth.contract(address=dep.aave_v3["pool_configurator"], abi=load_artifact("PoolConfigurator").abi)
    tx = configurator.functions.setSupplyCap(dep.tokens["USDC"], 1).transact({"from": WALLET})  # the deployer is pool admin
    assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1


def test_a_failing_dry_run_refuses_the_plan(w3: Any, rpc_devnet: Any, mammon: Mammon, tmp_path: Path) -> None:
    cap_aave_usdc_supply(w3, rpc_devnet)
    out = tmp_path / "plan.yaml"
    args = ("plan", EXAMPLES_DIR / "wallet-to-aave.yaml", "--wallet", WALLET, "--chain-config", rpc_devnet.chain_config,
            "--rpc", rpc_devnet.rpc_url, "-o", out)
    line = mammon.refuses(*args)
    assert line.startswith("--rpc http://127.0.0.1:")
    assert "step deposit fails in the plan's dry run on the node (fork of block " in line
    assert 'reverts with Error("51") (Aave V3 error 51: SUPPLY_CAP_EXCEEDED)' in line
    assert line.endswith("no plan written (--allow-failing writes it, marked as failing)")
    assert not out.exists()

    mammon(*args, "--allow-failing")
    shown = mammon("show", out, "--chain-config", rpc_devnet.chain_config).stdout
    assert "step deposit FAILED the plan's dry run on the node" in shown and "SUPPLY_CAP_EXCEEDED" in shown
    assert "Warnings  none" not in shown
    checked = mammon("validate", out, "--chain-config", rpc_devnet.chain_config, code=1)
    assert "warning: step deposit FAILED the plan's dry run on the node" in checked.stderr


def test_a_plan_whose_dry_run_succeeds_validates(w3: Any, rpc_devnet: Any, mammon: Mammon, tmp_path: Path) -> None:
    out = tmp_path / "plan.yaml"
    mammon("plan", EXAMPLES_DIR / "wallet-to-aave.yaml", "--wallet", WALLET, "--chain-config", rpc_devnet.chain_config,
           "--rpc", rpc_devnet.rpc_url, "-o", out)
    assert mammon("validate", out, "--chain-config", rpc_devnet.chain_config).stderr == ""
