"""The history search of `mammon.vault_growth` against a node whose answers are scripted block by block: the cases the
devnet cannot stage (a vault that reverts at older blocks while the node still serves state there).

What is pinned: the block where one vault's search ends is shared with later vaults (`History.served_from`) only when
the node said its state ends there; a revert is the vault's own answer and must not shorten another vault's span.
"""

from __future__ import annotations

from mammon.node import NodeError
from mammon.vault_growth import History, Measured, measure

SERVED_FROM = 10  # the node has no state below this block
LATEST = 100
A, B = "0x" + "aa" * 20, "0x" + "bb" * 20


class ScriptedNode:
    """Answers eth_call and block headers as a pruned node would; vault A reverts below `a_reverts_below`."""

    def __init__(self, a_reverts_below: int) -> None:
        self.a_reverts_below = a_reverts_below

    def request(self, method: str, params: list[object]) -> dict[str, str]:
        block = int(str(params[0]), 16)
        if block < SERVED_FROM:
            raise NodeError(method, -32000, f"missing trie node for block {block}", None)
        return {"number": hex(block), "timestamp": hex(2 * block)}

    def call(self, to: str, data: str, block: str = "latest") -> bytes:
        number = int(block, 16)
        if number < SERVED_FROM:
            raise NodeError("eth_call", -32000, "missing trie node", None)
        if to == A and number < self.a_reverts_below:
            raise NodeError("eth_call", 3, "execution reverted", b"")
        return (10**27 + number * 10**18).to_bytes(32, "big")


def _history(node: ScriptedNode) -> History:
    return History(node, LATEST, 2 * LATEST, 0)  # type: ignore[arg-type]  # the two methods History and measure use


def test_a_vault_that_reverts_at_older_blocks_does_not_shorten_the_next_vaults_span() -> None:
    node = ScriptedNode(a_reverts_below=50)
    shared = _history(node)
    a, b = measure(shared, A, 18), measure(shared, B, 18)
    alone = measure(_history(node), B, 18)
    assert isinstance(a, Measured) and a.blocks == LATEST - 50
    assert isinstance(b, Measured) and b == alone and b.blocks == LATEST - SERVED_FROM


def test_where_the_nodes_state_ends_is_searched_once_and_serves_the_next_vault() -> None:
    node = ScriptedNode(a_reverts_below=0)
    shared = _history(node)
    a, b = measure(shared, A, 18), measure(shared, B, 18)
    assert shared.served_from == SERVED_FROM
    assert isinstance(a, Measured) and isinstance(b, Measured) and a.blocks == b.blocks == LATEST - SERVED_FROM
