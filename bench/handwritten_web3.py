"""The comparison for `mammon apply --runner rpc`: a careful hand-written web3.py script sending the same calls.

    python bench/handwritten_web3.py PLAN.json RPC_URL      (key in MAMMON_PRIVATE_KEY)

What a careful person writes by hand to send a plan's transactions one after another: read the
calls from the plan file, take the pending nonce once, and for each call estimate its gas on the
pending block (as mammon's estimate, which names no block, gets it from anvil) with the same 20%
headroom mammon adds (where state moves between the estimate and the block, e.g. interest that
accrues per block, an estimate on the latest block runs out of gas), price it EIP-1559 style
(2 x base fee + the node's suggested tip), sign, send, and wait for its receipt before the next
(later calls spend what earlier ones return). It does none of what mammon adds:
no plan verification, no preconditions, no whole-plan dry run, no balance measurements, no journal.
"""

from __future__ import annotations

import json
import os
import sys

from eth_account import Account
from web3 import Web3


def main(plan_path: str, rpc_url: str) -> None:
    with open(plan_path, encoding="utf-8") as fh:
        plan = json.load(fh)
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    account = Account.from_key(os.environ["MAMMON_PRIVATE_KEY"])
    nonce = w3.eth.get_transaction_count(account.address, "pending")
    for step in plan["steps"]:
        call = step["call"]
        tx = {"from": account.address, "to": Web3.to_checksum_address(call["to"]), "data": call["data"], "value": int(call["value"]),
              "nonce": nonce, "chainId": plan["chain"]["id"]}
        tx["gas"] = w3.eth.estimate_gas(tx, "pending") * 12 // 10
        base_fee = w3.eth.get_block("latest")["baseFeePerGas"]
        tip = w3.eth.max_priority_fee
        tx.update({"maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * base_fee + tip, "type": 2})
        signed = account.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt["status"] != 1:
            sys.exit(f"{step['id']} reverted in {tx_hash.hex()}")
        nonce += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
