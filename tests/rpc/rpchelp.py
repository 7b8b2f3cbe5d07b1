"""Constants and small helpers shared by the rpc runner tests (imported as `rpchelp`)."""

from __future__ import annotations

from typing import Any

from web3 import Web3

WALLET = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil's first account: holds the default portfolio
# anvil's well-known default keys (public test keys, printed by anvil itself at startup)
KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
KEY1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ACCOUNT1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ACCOUNT0 = WALLET


def nonce(w3: Web3, address: str = WALLET) -> int:
    """The wallet's transaction count including pending ones (what the next nonce will be)."""
    return int(w3.eth.get_transaction_count(address, "pending"))  # type: ignore[arg-type]


def send(w3: Web3, to: str, data: str, sender: str = WALLET, gas: int | None = 3_000_000) -> Any:
    """A transaction from an unlocked anvil account (outside any plan), mined; returns the receipt."""
    tx: dict[str, Any] = {"from": sender, "to": to, "data": data}
    if gas is not None:
        tx["gas"] = gas
    tx_hash = w3.eth.send_transaction(tx)  # type: ignore[arg-type]
    return w3.eth.wait_for_transaction_receipt(tx_hash)
