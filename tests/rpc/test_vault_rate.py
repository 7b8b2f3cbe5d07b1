"""A vault's share-price growth measured on the node (`plan --rpc`), on the devnet's accruing MetaMorpho-style vault.

The stand-in vault lends its assets to the devnet's Aave pool (borrowers in it), so its share price rises every
second. `plan --rpc` measures that growth over the blocks the node serves (convertToAssets then and now), uses
the larger of the stated rate and twice the measured one for the share effects' tolerances, records it in the
plan's inputs (so `validate` recompiles the same plan without the node), and says where it came from. A node
that serves no earlier state (here: anvil booted from a state dump, at its first block) leaves the stated rate,
with the reason in the plan's notes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mammon.diff import diff, render_text
from mammon.plan.planfile import load
from mammon_test_support import EXAMPLES_DIR
from rpchelp import WALLET

CONVERT_TO_ASSETS = "0x07a2d13a"  # convertToAssets(uint256)


def _price(w3: Any, vault: str, block: int) -> int:
    data = CONVERT_TO_ASSETS + (10**27).to_bytes(32, "big").hex()
    return int.from_bytes(w3.eth.call({"to": vault, "data": data}, block), "big")


def test_the_accruing_vault_gets_a_measured_rate_and_a_clean_diff_on_two_second_blocks(
        rpc_devnet: Any, w3: Any, mammon: Any, apply_rpc: Any, key0: str, tmp_path: Path) -> None:
    vault = rpc_devnet.deployment.morpho_vaults["USDC"]
    start = w3.eth.block_number
    for _ in range(20):  # 4 minutes of 12 s blocks the node serves state for
        w3.provider.make_request("evm_mine", [])
    assert _price(w3, vault, w3.eth.block_number) > _price(w3, vault, start)  # the share price grew with no deposit
    w3.provider.make_request("anvil_setBlockTimestampInterval", [2])
    w3.provider.make_request("evm_setIntervalMining", [2])
    try:
        path = tmp_path / "plan.yaml"
        mammon("plan", EXAMPLES_DIR / "wallet-to-morpho.yaml", "--chain", "devnet", "--chain-config", rpc_devnet.chain_config,
               "--wallet", WALLET, "--rpc", rpc_devnet.rpc_url, "-o", path)
        plan = load(path)
        assert plan.inputs is not None
        state = plan.inputs.market.venues["morpho"]["vaults"]["USDC"]
        measured = int(state["share_price_rate_measured"])
        # the vault's assets all earn Aave's USDC rate (~2.9%/yr on the devnet): measured within a hair of it
        assert 2.7 < measured / 10**25 < 3.1, measured
        assert int(state["share_price_rate"]) == 2 * measured  # above the default world's stated 4.50%/yr
        assert state["share_price_rate_source"].startswith(f"2 × {measured / 10**25:.2f}%/yr measured over the last ")
        [shares] = [e for s in plan.steps for e in s.effects if e.token_address.lower() == vault.lower()]
        assert shares.tolerance.reason and "measured over the last" in shares.tolerance.reason
        shown = mammon("show", path, "--chain-config", rpc_devnet.chain_config).stdout
        assert f"interest at {2 * measured / 10**25:.2f}%/yr over at most 10 min (2 × {measured / 10**25:.2f}%/yr measured over the last" in shown
        assert "Note      Morpho vault devnet_usdc: share price grows at" in shown

        record = apply_rpc(plan).record
        result = diff(plan, record)
        assert record.status == "ok" and result.ok, render_text(result)
        [actual] = [e for s in record.steps for e in s.effects if e.token_address.lower() == vault.lower()]
        assert actual.delta < shares.delta  # the price rose between the plan's read and the block: fewer shares, within tolerance
    finally:
        w3.provider.make_request("evm_setIntervalMining", [0])
        w3.provider.make_request("evm_setAutomine", [True])
        w3.provider.make_request("anvil_setBlockTimestampInterval", [12])
    w3.provider.make_request("evm_mine", [])  # the chain moves on: validate compiles from the recorded reads, not the node
    assert mammon("validate", path, "--chain-config", rpc_devnet.chain_config).stdout.startswith(f"ok: {path} is valid")


def test_a_node_without_earlier_state_falls_back_to_the_stated_rate_and_says_why(tmp_path: Path, mammon: Any,
                                                                                  request: Any) -> None:
    from mammon.devnet import running

    with running(Path(request.config.cache.mkdir("mammon-devnet"))) as devnet:  # fresh from the dump: no earlier state
        path = tmp_path / "plan.yaml"
        mammon("plan", EXAMPLES_DIR / "wallet-to-morpho.yaml", "--chain", "devnet", "--chain-config", devnet.chain_config,
               "--wallet", WALLET, "--rpc", devnet.rpc_url, "-o", path)
        plan = load(path)
        shown = mammon("show", path, "--chain-config", devnet.chain_config).stdout
    assert plan.inputs is not None
    state = plan.inputs.market.venues["morpho"]["vaults"]["USDC"]
    assert state["share_price_rate"] == "45000000000000000000000000"  # the default world's stated 4.50%/yr
    assert "share_price_rate_measured" not in state
    assert state["share_price_rate_unmeasured"].startswith("the node serves no state at block ")
    assert "(stated 4.50%/yr; not measured on the node)" in shown
    assert "Note      Morpho vault devnet_usdc: share price grows at 4.50%/yr in this plan (stated 4.50%/yr; not measured on the node: " \
           "the node serves no state at block " in shown


def test_a_node_whose_history_ends_is_searched_once_for_all_its_vaults(request: Any) -> None:
    """A node that serves state only from some block on (here: anvil booted from a state dump, then 20 blocks): the
    first vault's search finds that block, the other vaults start there, and each measures what a search of its own
    finds, in fewer calls to the node."""
    from mammon.devnet import running
    from mammon.devnet.anvil import rpc
    from mammon.node import Node
    from mammon.vault_growth import History, Measured, measure

    class CountingNode(Node):
        eth_calls = 0

        def call(self, to: str, data: bytes | str, block: str = "latest", sender: str | None = None) -> bytes:
            self.eth_calls += 1
            return super().call(to, data, block, sender)

    with running(Path(request.config.cache.mkdir("mammon-devnet"))) as devnet:
        booted = int(rpc(devnet.rpc_url, "eth_blockNumber"), 16)
        for _ in range(20):
            rpc(devnet.rpc_url, "evm_mine")
        dep = devnet.deployment
        vaults = [(dep.morpho_vaults["USDC"], 18), (dep.morpho_vaults["WETH"], 18), (dep.erc4626_vaults["USDC"], 6),
                  (dep.erc4626_vaults["WETH"], 18)]
        node = CountingNode(devnet.rpc_url)
        shared = History.of(node)
        before = node.eth_calls
        together = [measure(shared, vault, decimals) for vault, decimals in vaults]
        calls_together = node.eth_calls - before
        alone, calls_alone = [], 0
        for vault, decimals in vaults:
            own = History.of(node)
            before = node.eth_calls
            alone.append(measure(own, vault, decimals))
            calls_alone += node.eth_calls - before
            assert own.served_from == shared.served_from
    assert together == alone
    assert shared.served_from == booted, (booted, shared.served_from)  # the dump's state is the boot block's
    assert all(isinstance(m, Measured) and m.blocks == shared.latest - shared.served_from for m in together), together
    assert calls_together < calls_alone - 2 * len(vaults[1:]), (calls_together, calls_alone)
