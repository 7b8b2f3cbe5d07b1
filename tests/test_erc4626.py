"""ERC-4626 as ERC-4626 (issue #8, cause 1): share decimals and offset per vault, not MetaMorpho's for all.

A plain OpenZeppelin vault has offset 0 (USDC vault shares have 6 decimals); MetaMorpho has 18-decimal
shares (offset 12 for USDC). The compiler takes the share decimals from the chain config (static plans) or
the vault's own decimals() (--rpc, see tests/rpc), the simulator models the same offset, and rounding
follows the standard: deposit and redeem round down for the user, withdraw rounds the burned shares up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mammon import Recommendation, compile_plan
from mammon.chains import load_chain_file
from mammon.diff import diff
from mammon.errors import InputError
from mammon.market import load_market
from mammon.run.engine import ApplyOptions, apply_plan
from mammon.run.sim import SimRunner
from mammon_test_support import NOW, ROOT, WALLET, Mammon

BASE = ROOT / "mammon" / "chains" / "data" / "base.yaml"
VAULT = "0x1111111111111111111111111111111111111111"
TOTAL_ASSETS, TOTAL_SUPPLY = 103_000 * 10**6, 100_000 * 10**6  # share price 1.03, 6-decimal shares


def chain_with_vault(tmp_path: Path, share_decimals: int | None = 6) -> Path:
    data = yaml.safe_load(BASE.read_text())
    entry: dict[str, Any] = {"address": VAULT, "asset": "USDC"}
    if share_decimals is not None:
        entry["share_decimals"] = share_decimals
    data["protocols"]["erc4626"] = {"vaults": {"oz_usdc": entry}}
    path = tmp_path / "base-oz.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def market_with_vault(tmp_path: Path) -> Path:
    world = yaml.safe_load((ROOT / "plans" / "worlds" / "default.yaml").read_text())
    world["venues"]["erc4626"] = {"vaults": {"USDC": {"total_assets": str(TOTAL_ASSETS), "total_supply": str(TOTAL_SUPPLY)}}}
    world["portfolio"]["positions"]["erc4626"] = {"USDC": "5000"}
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(world, sort_keys=False))
    return path


def effects(plan: Any, step: str) -> dict[str, int]:
    return {e.token: e.delta for e in plan.step(step).effects if e.account_label == "wallet"}


def applies_on_sim(plan: Any, chain: Any, world: Path, tmp_path: Path) -> None:
    (tmp_path / "state").mkdir(parents=True)
    runner = SimRunner.create(plan, world=world, chain_config=chain, now=NOW)
    record = apply_plan(plan, runner, ApplyOptions(record_path=tmp_path / "run.json", state_dir=tmp_path / "state", chain=chain, now=lambda: NOW))
    result = diff(plan, record)
    assert record.status == "ok" and result.ok


def test_plain_vault_deposit_mints_shares_in_the_assets_decimals(tmp_path: Path) -> None:
    chain, world = load_chain_file(chain_with_vault(tmp_path)), market_with_vault(tmp_path)
    plan = compile_plan(Recommendation(to_protocol="erc4626", token="USDC", amount="1000"), chain=chain, wallet=WALLET,
                        market=load_market(world), now=NOW)
    # offset 0: shares = assets * (S + 1) // (T + 1), rounded down
    assert effects(plan, "deposit")["oz_usdc shares"] == 1000 * 10**6 * (TOTAL_SUPPLY + 1) // (TOTAL_ASSETS + 1) == 970_873_786
    applies_on_sim(plan, chain, world, tmp_path)


def test_plain_vault_withdraw_rounds_burned_shares_up_and_redeem_all_pays_the_position(tmp_path: Path) -> None:
    chain, world = load_chain_file(chain_with_vault(tmp_path)), market_with_vault(tmp_path)
    market = load_market(world)
    part = compile_plan(Recommendation(from_protocol="erc4626", token="USDC", amount="1234.56"), chain=chain, wallet=WALLET, market=market, now=NOW)
    burned = -(-1_234_560_000 * (TOTAL_SUPPLY + 1) // (TOTAL_ASSETS + 1))  # rounded up
    assert effects(part, "withdraw")["oz_usdc shares"] == -burned == -1_198_601_942
    applies_on_sim(part, chain, world, tmp_path / "part")
    everything = compile_plan(Recommendation(from_protocol="erc4626", token="USDC", amount="all"), chain=chain, wallet=WALLET, market=market, now=NOW)
    paid = effects(everything, "withdraw")["USDC"]
    assert 4_999_000_000 < paid <= 5_000_000_000  # the position (5,000 USDC), not 18-decimal share math's dust or 41x
    applies_on_sim(everything, chain, world, tmp_path / "all")


def test_show_prints_shares_in_their_own_decimals(tmp_path: Path, mammon: Mammon) -> None:
    out = tmp_path / "plan.yaml"
    mammon("plan", ROOT / "plans" / "examples" / "devnet" / "wallet-to-erc4626.yaml", "--wallet", WALLET,
           "--chain-config", chain_with_vault(tmp_path), "--prices", market_with_vault(tmp_path), "-o", out)
    text = mammon("show", out, "--chain-config", chain_with_vault(tmp_path)).stdout
    assert "+ 970.873786 oz_usdc shares wallet" in text


def test_without_share_decimals_a_plain_vault_defaults_to_the_assets_and_morpho_to_18(tmp_path: Path) -> None:
    chain, market = load_chain_file(chain_with_vault(tmp_path, None)), load_market(market_with_vault(tmp_path))
    plan = compile_plan(Recommendation(to_protocol="erc4626", token="USDC", amount="1000"), chain=chain, wallet=WALLET, market=market, now=NOW)
    assert effects(plan, "deposit")["oz_usdc shares"] == 970_873_786
    morpho = compile_plan(Recommendation(to_protocol="morpho", token="USDC", amount="1000"), chain=chain, wallet=WALLET, market=market, now=NOW)
    shares = next(e for e in morpho.step("deposit").effects if e.token.endswith("shares"))
    assert shares.decimals == 18


def test_fewer_share_decimals_than_the_asset_is_refused(tmp_path: Path) -> None:
    chain, market = load_chain_file(chain_with_vault(tmp_path, 4)), load_market(market_with_vault(tmp_path))
    with pytest.raises(InputError, match="shares have 4 decimals, fewer than the asset's 6"):
        compile_plan(Recommendation(to_protocol="erc4626", token="USDC", amount="1000"), chain=chain, wallet=WALLET, market=market, now=NOW)
