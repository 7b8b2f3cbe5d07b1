"""The optimizer's loop on the devnet: its recommendation as it spells it, its seed phrase, real transactions.

`Rebalancer(runner="rpc")` and `mammon rebalance --runner rpc` read the market from the node, compile,
save the plan, sign with the account MAMMON_MNEMONIC derives (anvil's public test phrase: index 0 is
the funded WALLET), send one transaction per step and diff clean against the receipts.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mammon import Rebalancer
from mammon.errors import InputError
from mammon.plan.planfile import load
from mammon_test_support import EXAMPLES_DIR, Mammon
from rpchelp import ACCOUNT1, WALLET, nonce

PHRASE = "test test test test test test test test test test test junk"  # anvil's public test mnemonic


@pytest.fixture
def seed_wallet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAMMON_PRIVATE_KEY", raising=False)
    monkeypatch.setenv("MAMMON_MNEMONIC", PHRASE)


SPELLINGS = [
    {"from_protocol": "Moonwell", "to_protocol": "Aave V3", "token": "USDC", "amount": Decimal("1000"), "expected_apy": Decimal("8.5"),
     "reason": "Higher APY in Aave V3", "confidence": 85},
    {"from_protocol": None, "to_protocol": "Morpho", "token": "usdc", "amount": Decimal("250.5"), "expected_apy": "6.6", "confidence": 70},
    {"from_protocol": "AAVE_V3", "to_protocol": "moonwell", "token": "USDC", "amount": 500, "expected_apy": Decimal("7")},
    {"from_protocol": "aave-v3", "to_protocol": None, "token": "weth", "amount": Decimal("0.25"), "confidence": 60},
]


@pytest.mark.parametrize("rec", SPELLINGS, ids=["seed", "wallet-to-morpho", "aave-to-moonwell-int", "aave-to-wallet-weth"])
@pytest.mark.usefixtures("seed_wallet")
def test_seed_recommendation_applies_on_the_devnet(rec: dict[str, Any], rpc_devnet: Any, w3: Any, tmp_path: Path, mammon: Mammon) -> None:
    r = Rebalancer(chain="devnet", wallet=WALLET, runner="rpc", rpc_url=rpc_devnet.rpc_url, chain_config=rpc_devnet.chain_config,
                   plan_dir=tmp_path / "plans", state_dir=tmp_path / "state")
    before = nonce(w3)
    result = r.execute(rec)
    assert result.success, result.summary()
    assert nonce(w3) == before + len(result.plan.steps), "one signed transaction per step"
    receipts = [w3.eth.get_transaction_receipt(h) for h in result.tx_hashes]
    assert len(receipts) == len(result.plan.steps) and all(rc["status"] == 1 and rc["from"] == WALLET for rc in receipts)
    assert result.total_gas_used == sum(rc["gasUsed"] for rc in receipts)
    paid = sum(rc["gasUsed"] * rc["effectiveGasPrice"] for rc in receipts)  # anvil has no L1 data fee
    assert result.total_gas_cost_eth == Decimal(paid) / Decimal(10**18)
    assert all(s.gas.source == "node" for s in result.plan.steps), "gas measured on a fork of the node, as `plan --rpc`"
    assert result.record_path == result.plan_path.with_name(result.plan_path.name.removesuffix(".yaml") + ".run.json")
    assert result.summary() == mammon("diff", result.plan_path, result.record_path).stdout


@pytest.mark.usefixtures("seed_wallet")
def test_an_index_deriving_another_address_is_refused_before_anything_is_sent(rpc_devnet: Any, w3: Any, tmp_path: Path) -> None:
    before = nonce(w3)
    with pytest.raises(InputError) as err:
        Rebalancer(chain="devnet", wallet=WALLET, runner="rpc", rpc_url=rpc_devnet.rpc_url, chain_config=rpc_devnet.chain_config,
                   account_index=1, plan_dir=tmp_path / "plans", state_dir=tmp_path / "state")
    assert str(err.value).startswith(f"MAMMON_MNEMONIC: the phrase derives {ACCOUNT1} at m/44'/60'/0'/0/1, not the plan's wallet")
    assert nonce(w3) == before and not (tmp_path / "plans").exists()


@pytest.mark.usefixtures("seed_wallet")
def test_rebalance_command_on_the_devnet(rpc_devnet: Any, w3: Any, tmp_path: Path, mammon: Mammon) -> None:
    rec = tmp_path / "rec.yaml"
    rec.write_text((EXAMPLES_DIR / "seed-moonwell-to-aave.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    before = nonce(w3)
    run = mammon("rebalance", rec, "--chain", "devnet", "--chain-config", rpc_devnet.chain_config, "--wallet", WALLET, "--runner", "rpc",
                 "--rpc-url", rpc_devnet.rpc_url, "--account-index", "0", "--yes", "--state-dir", tmp_path / "state")
    [plan_path] = tmp_path.glob("rec-*.plan.yaml")
    plan = load(plan_path)
    record_path = plan_path.with_name(plan_path.name.removesuffix(".yaml") + ".run.json")
    assert nonce(w3) == before + len(plan.steps)
    assert run.stdout.endswith(mammon("diff", plan_path, record_path).stdout)
    assert run.stdout.rstrip().endswith("result: all effects within tolerance")
    assert PHRASE.split()[0] + " " + PHRASE.split()[1] not in run.stdout + run.stderr + plan_path.read_text() + record_path.read_text()
