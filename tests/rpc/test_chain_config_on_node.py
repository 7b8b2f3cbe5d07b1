"""With --rpc, the chain config's addresses are checked on the node, naming the role (issue #8, causes 1, 5 and 6).

A vault address that is not a vault, an address with no code, a vault of another asset, or a Uniswap V3
pool derived from a wrong `pool_init_code_hash` is refused in one line naming the config entry, never a
decoding traceback (`InsufficientDataBytes`). The vaults' share decimals come from the vaults themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mammon.market import load_market
from mammon.market_rpc import read_market
from mammon_test_support import EXAMPLES_DIR, Mammon
from rpchelp import WALLET


def edited(chain_path: Path, tmp_path: Path, edit: Any) -> Path:
    data = yaml.safe_load(Path(chain_path).read_text())
    edit(data)
    path = tmp_path / "devnet-edited.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def refuse_plan(mammon: Mammon, rpc_devnet: Any, config: Path, example: str = "wallet-to-aave.yaml") -> str:
    return mammon.refuses("plan", EXAMPLES_DIR / example, "--wallet", WALLET, "--chain-config", config, "--rpc", rpc_devnet.rpc_url)


def test_share_decimals_and_asset_are_read_from_each_vault(rpc_devnet: Any, chain: Any, w3: Any) -> None:
    market = read_market(rpc_devnet.rpc_url, chain, WALLET, load_market())
    assert market.venues["erc4626"]["vaults"]["USDC"]["share_decimals"] == 6  # plain OpenZeppelin: offset 0
    assert market.venues["morpho"]["vaults"]["USDC"]["share_decimals"] == 18  # MetaMorpho style: offset 12
    assert market.portfolio is not None and market.portfolio.positions["erc4626"]["USDC"] == "4999.999999"  # previewRedeem of the shares


def test_a_vault_address_that_is_not_a_vault_is_named(rpc_devnet: Any, mammon: Mammon, tmp_path: Path) -> None:
    def point_at_a_token(d: dict[str, Any]) -> None:
        d["protocols"]["erc4626"]["vaults"]["oz_usdc"]["address"] = d["tokens"][0]["address"]  # USDC itself: an ERC-20, not a vault

    line = refuse_plan(mammon, rpc_devnet, edited(rpc_devnet.chain_config, tmp_path, point_at_a_token))
    assert line.startswith("chain config: protocols.erc4626.vaults.oz_usdc (0x")
    assert "is not an ERC-4626 vault: asset() reverted" in line


def test_a_vault_address_without_code_is_named(rpc_devnet: Any, mammon: Mammon, tmp_path: Path) -> None:
    def nowhere(d: dict[str, Any]) -> None:
        d["protocols"]["morpho"]["vaults"]["devnet_usdc"]["address"] = "0x000000000000000000000000000000000000dEaD"

    line = refuse_plan(mammon, rpc_devnet, edited(rpc_devnet.chain_config, tmp_path, nowhere))
    assert line == "chain config: protocols.morpho.vaults.devnet_usdc (0x000000000000000000000000000000000000dEaD) has no code on chain 31337"


def test_a_vault_of_another_asset_is_named(rpc_devnet: Any, mammon: Mammon, tmp_path: Path) -> None:
    def swapped(d: dict[str, Any]) -> None:
        vaults = d["protocols"]["erc4626"]["vaults"]
        vaults["oz_usdc"]["address"], vaults["oz_weth"]["address"] = vaults["oz_weth"]["address"], vaults["oz_usdc"]["address"]

    line = refuse_plan(mammon, rpc_devnet, edited(rpc_devnet.chain_config, tmp_path, swapped))
    assert line.startswith("chain config: protocols.erc4626.vaults.oz_usdc (0x") and ", not of USDC (0x" in line


def test_a_wrong_pool_init_code_hash_is_named_not_a_traceback(rpc_devnet: Any, mammon: Mammon, tmp_path: Path) -> None:
    def derived(d: dict[str, Any]) -> None:
        d["protocols"]["uniswap_v3"]["pools"][0].pop("address")
        d["protocols"]["uniswap_v3"]["pool_init_code_hash"] = "0x" + "ab" * 32

    line = refuse_plan(mammon, rpc_devnet, edited(rpc_devnet.chain_config, tmp_path, derived))
    assert line.startswith("chain config: protocols.uniswap_v3.pools[0] (USDC/WETH 500) at the address derived from pool_init_code_hash (0x")
    assert line.endswith("has no code on chain 31337")
