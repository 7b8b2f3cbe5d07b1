"""The devnet's batching contracts: Safe 1.4.1 (two funded Safes) and the EIP-7702 delegate, from npm bytecode."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import yaml
from eth_account import Account
from web3 import Web3

from mammon.chains import DATA
from mammon.devnet.artifacts import node_modules_dir
from mammon.devnet.artifacts import ARTIFACT_PATHS
from mammon.devnet.artifacts import load_artifact as artifact
from mammon.devnet.batching import create2_address

if TYPE_CHECKING:
    from mammon.devnet import DevnetInfo

# anvil's well-known default keys (accounts 0-4 of its test mnemonic)
ANVIL_KEYS = [Account.from_key(k) for k in (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
)]


def test_delegate_sits_at_the_registry_address_of_base(devnet: DevnetInfo, w3: Web3) -> None:
    """CREATE2 of the npm init code through the deterministic deployer: same address as Base's registry entry."""
    init = bytes.fromhex(artifact("Simple7702Account").bytecode[2:])
    base = yaml.safe_load((DATA / "base.yaml").read_text())
    address = devnet.deployment.batching["simple7702_account"]
    assert address == create2_address(init) == base["infra"]["eip7702"]["simple7702_account"]
    published = json.loads((node_modules_dir() / ARTIFACT_PATHS["Simple7702Account"]).read_text())["deployedBytecode"]
    assert "0x" + bytes(w3.eth.get_code(address)).hex() == published.lower()
    chain = yaml.safe_load(devnet.chain_config.read_text())
    assert chain["infra"]["eip7702"]["simple7702_account"] == address
    assert chain["infra"]["safe"]["multisend_call_only"] == devnet.deployment.batching["safe"]["multisend_call_only"]


def test_safes_have_their_owners_threshold_and_the_wallets_positions(devnet: DevnetInfo, w3: Web3) -> None:
    """Each Safe holds what the wallet holds: tokens, Aave supply, Moonwell, both vaults, the Aerodrome LP."""
    safe_abi = artifact("SafeL2").abi
    erc20 = [{"name": "balanceOf", "type": "function", "stateMutability": "view", "inputs": [{"name": "a", "type": "address"}],
              "outputs": [{"name": "", "type": "uint256"}]}]
    dep = devnet.deployment
    wallet = ANVIL_KEYS[0].address

    def balance(token: str, who: str) -> int:
        return int(w3.eth.contract(address=token, abi=erc20).functions.balanceOf(who).call())

    positions = {"USDC": dep.tokens["USDC"], "WETH": dep.tokens["WETH"], "aUSDC": dep.aave_v3["a_tokens"]["USDC"],
                 "aWETH": dep.aave_v3["a_tokens"]["WETH"], "mUSDC": dep.moonwell["USDC"], "dvUSDC": dep.morpho_vaults["USDC"],
                 "ozWETH": dep.erc4626_vaults["WETH"], "LP": dep.aerodrome["pool_usdc_weth_volatile"]}
    expected = {"one_of_one": ([1], 1), "two_of_three": ([2, 3, 4], 2)}
    for name, (indexes, threshold) in expected.items():
        info = dep.batching["safes"][name]
        safe = w3.eth.contract(address=info["address"], abi=safe_abi)
        assert safe.functions.VERSION().call() == "1.4.1"
        assert safe.functions.getOwners().call() == [ANVIL_KEYS[i].address for i in indexes]
        assert safe.functions.getThreshold().call() == threshold
        assert safe.functions.nonce().call() == 0
        for what, token in positions.items():
            mine, theirs = balance(token, info["address"]), balance(token, wallet)
            assert theirs > 0 and abs(mine - theirs) <= theirs // 1000, (name, what, mine, theirs)  # aTokens: the wallet's interest since
        assert balance(dep.aerodrome["pool_usdc_weth_volatile"], info["address"]) == balance(dep.aerodrome["pool_usdc_weth_volatile"], wallet)


def test_anvil_runs_prague_with_eip7702(devnet: DevnetInfo, w3: Web3) -> None:
    """A type-4 transaction delegates an EOA's code to Simple7702Account (0xef0100 || delegate)."""
    key = ANVIL_KEYS[4]
    delegate = devnet.deployment.batching["simple7702_account"]
    nonce = w3.eth.get_transaction_count(key.address)
    auth = key.sign_authorization({"chainId": w3.eth.chain_id, "address": delegate, "nonce": nonce + 1})
    tx = {"type": 4, "chainId": w3.eth.chain_id, "nonce": nonce, "to": key.address, "value": 0, "data": "0x", "gas": 100_000,
          "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 0, "authorizationList": [auth]}
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(key.sign_transaction(tx).raw_transaction))
    assert receipt["status"] == 1
    assert w3.eth.get_code(key.address) == bytes.fromhex("ef0100") + bytes.fromhex(delegate[2:])
