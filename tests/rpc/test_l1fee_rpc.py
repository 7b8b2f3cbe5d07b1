"""The L1 data fee's inputs come from the node's GasPriceOracle when it has one (mammon.l1fee.params_from_node)."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from mammon.l1fee import GAS_PRICE_ORACLE, params_from_node
from mammon.node import Node


def test_a_node_without_the_oracle_gives_none_and_one_with_it_gives_its_values(rpc_devnet: Any, w3: Web3) -> None:
    node = Node(rpc_devnet.rpc_url)
    assert params_from_node(node) is None  # the devnet is no OP-stack chain: the bench falls back to Base's cited scalars
    # a stand-in at the predeploy address that answers every call with 42 (the real GasPriceOracle is not on npm here)
    w3.provider.make_request("anvil_setCode", [GAS_PRICE_ORACLE, "0x602a60005260206000f3"])  # type: ignore[arg-type]
    params = params_from_node(node)
    assert params is not None and "GasPriceOracle" in params.source
    assert (params.base_fee_scalar, params.blob_base_fee_scalar, params.l1_base_fee, params.blob_base_fee) == (42, 42, 42, 42)
