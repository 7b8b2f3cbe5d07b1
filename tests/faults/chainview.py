"""The devnet as a user checks it (no retries, no proxy), shared by the fault tests and bench/soak.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

WALLET = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's first public test key
ACCOUNT1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
FAST = {"MAMMON_RPC_TIMEOUT": "1", "MAMMON_RPC_BACKOFF": "0.01", "MAMMON_RPC_RETRIES": "4"}


class Chain:
    """Raw reads of the devnet (no retries, no proxy): what a user checks on a block explorer."""

    def __init__(self, url: str) -> None:
        from mammon.node import Node

        self.node = Node(url, retries=0)

    def __call__(self, method: str, *params: Any) -> Any:
        return self.node.request(method, list(params))

    def nonce(self, address: str = WALLET, tag: str = "latest") -> int:
        return int(self("eth_getTransactionCount", address, tag), 16)

    def balance(self, token: str, owner: str = WALLET) -> int:
        return int.from_bytes(self.node.call(token, "0x70a08231" + owner[2:].lower().rjust(64, "0")), "big")

    def sent_by(self, address: str, first_block: int) -> list[dict[str, Any]]:
        """Every mined transaction from `address` since `first_block`."""
        out = []
        for n in range(first_block, int(self("eth_blockNumber"), 16) + 1):
            block = self("eth_getBlockByNumber", hex(n), True)
            out += [tx for tx in block["transactions"] if tx["from"].lower() == address.lower()]
        return out

    def send_from(self, sender: str, to: str, data: str = "0x", gas: int = 100_000) -> str:
        """A transaction from an unlocked anvil account, mined at once."""
        tx_hash = self("eth_sendTransaction", {"from": sender, "to": to, "data": data, "gas": hex(gas)})
        return str(tx_hash)


def record_of(path: Path) -> dict[str, Any]:
    """The run record as data: its journal replayed (the file is JSON Lines since record format 2.0.0)."""
    from mammon.run.record import read_raw

    return dict(read_raw(path)[0])
