"""One transaction vs one per step: blocks, wall time, gas and the L1 data fee, sequential vs batch vs safe.

    .venv/bin/python bench/batch.py [--cache-dir .mammon/devnet] [--json out.json]

On the devnet (real bytecode) with anvil mining a block every 2 s (`evm_setIntervalMining 2`), side by
side in one run, for the 3-step Moonwell->Aave plan, the 3-step Morpho->Aave plan and the 5-step
cross-token Aave WETH -> Morpho USDC plan (withdraw, approve, swap, approve, deposit):

* sequential — `--runner rpc`: one EIP-1559 transaction per step, each awaited;
* batch      — `--runner batch`: one EIP-7702 type-4 transaction (wallet -> itself, executeBatch), carrying
               the wallet's first delegation (its authorization);
* batch, delegated — the same with the wallet already delegated (as after its first batch): a plain
               type-2 transaction, no authorization;
* safe       — `--runner safe`: one execTransaction of the devnet's 1-of-1 Safe (which holds the wallet's
               positions), signed by its owner; any key pays the gas;
* safe 2-of-3 — the same from the 2-of-3 Safe, signed by two of its owners (what each more signature costs).

Reported per run: blocks the plan's transactions landed in (goal: 1), blocks elapsed from the first
send to the last receipt, wall time of the whole apply (preflight on a fork included, the same for
every mode), total gasUsed, and the L1 data fee the signed bytes would pay on Base (`mammon.l1fee`:
Fjord's formula on the FastLZ-compressed signed transaction, with the scalars and L1 prices of the
node's GasPriceOracle when it has one, else Base's SystemConfig scalars and stated L1 prices: the
devnet has no oracle, so compare the modes, not the absolute figures). Moonwell->Aave is refused in
batch and safe modes by the Compound error-code rule (the bench prints the refusal): it runs
sequentially only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WALLET = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's public default keys
KEY1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # owner of the devnet's 1-of-1 Safe
KEY2 = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # two owners of its 2-of-3 Safe (accounts 2, 3)
KEY3 = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"
SAFES = {"safe": ("one_of_one", (KEY1,)), "safe 2-of-3": ("two_of_three", (KEY2, KEY3))}
BLOCK_SECONDS = 2
PLANS = [("Moonwell->Aave (3 steps)", "moonwell-to-aave"), ("Morpho->Aave (3 steps)", "morpho-to-aave"),
         ("Aave WETH -> Morpho USDC (5 steps)", "aave-weth-to-morpho-usdc")]


def l1_fee(raw_txs: list[str], params: Any) -> int:
    from mammon.l1fee import l1_fee as fee

    return sum(fee(bytes.fromhex(raw.removeprefix("0x")), params) for raw in raw_txs)


def run_one(example: str, mode: str, info: Any, chain: Any, w3: Any, tmp: Path, fee_params: Any) -> dict[str, Any]:
    from mammon import clock
    from mammon.compile.batching import read_safe_state
    from mammon.compile.compiler import compile_plan
    from mammon.errors import MammonError
    from mammon.market import load_market
    from mammon.market_rpc import read_market
    from mammon.plan.planfile import dump
    from mammon.recommend import load_recommendations
    from mammon.run.api import apply_file
    from mammon.run.safe import sign, signatures_path
    from mammon.run.keys import from_hex

    safe_name, owner_keys = SAFES.get(mode, ("", ()))
    wallet = info.deployment.batching["safes"][safe_name]["address"] if safe_name else WALLET
    recs = load_recommendations(ROOT / "plans" / "examples" / f"{example}.yaml")
    market = read_market(info.rpc_url, chain, wallet, load_market())
    execution = {"batch, delegated": "batch", "safe 2-of-3": "safe"}.get(mode, mode)
    try:
        plan = compile_plan(recs, chain=chain, wallet=wallet, market=market, now=clock.now(), execution=execution,
                            safe=read_safe_state(info.rpc_url, wallet) if safe_name else None)
    except MammonError as exc:
        return {"mode": mode, "refused": str(exc)}
    path = tmp / f"{example}.{mode}.yaml"
    dump(plan, path)
    for key in owner_keys:
        sign(plan, from_hex(key), signatures_path(path))
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    if mode == "batch, delegated":  # as after an earlier batch: the wallet's code already points at the delegate
        assert plan.batch is not None and plan.batch.delegate is not None
        w3.provider.make_request("anvil_setCode", [WALLET, "0xef0100" + plan.batch.delegate[2:].lower()])
    w3.provider.make_request("evm_setIntervalMining", [BLOCK_SECONDS])
    try:
        first = w3.eth.block_number
        started = time.perf_counter()
        record, result = apply_file(path, runner_name="rpc" if mode == "sequential" else execution, record_path=tmp / f"{example}.{mode}.run.json",
                                    state_dir=tmp / "state", chain_config=info.chain_config, runner_options={"rpc_url": info.rpc_url},
                                    confirm=None, show_review=False)
        wall = time.perf_counter() - started
        hashes = list(dict.fromkeys(s.tx_hash for s in record.steps if s.tx_hash))
        receipts = [w3.eth.get_transaction_receipt(h) for h in hashes]
        raws = [s.raw_tx for s in record.steps if s.raw_tx]
        return {"mode": mode, "ok": result.ok, "transactions": len(hashes), "blocks_landed": len({r["blockNumber"] for r in receipts}),
                "blocks_elapsed": max(r["blockNumber"] for r in receipts) - first, "wall_s": round(wall, 2),
                "gas": sum(r["gasUsed"] for r in receipts), "signed_bytes": sum(len(r) // 2 - 1 for r in raws), "l1_fee_wei": l1_fee(raws, fee_params)}
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
        w3.provider.make_request("evm_revert", [snap])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".mammon" / "devnet")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("MAMMON_PRIVATE_KEY", KEY0)
    os.environ.pop("MAMMON_NOW", None)
    from web3 import Web3

    from mammon import devnet
    from mammon.chains import load_chain_file
    from mammon.l1fee import BASE_FALLBACK, params_from_node
    from mammon.node import Node

    rows: list[dict[str, Any]] = []
    with devnet.running(args.cache_dir) as info, tempfile.TemporaryDirectory(prefix="mammon-bench-batch-") as tmp:
        os.environ["MAMMON_DEVNET_CONFIG"] = str(info.chain_config)
        chain = load_chain_file(info.chain_config)
        w3 = Web3(Web3.HTTPProvider(info.rpc_url, exception_retry_configuration=None))
        fee_params = params_from_node(Node(info.rpc_url)) or BASE_FALLBACK
        for title, example in PLANS:
            for mode in ("sequential", "batch", "batch, delegated", "safe", "safe 2-of-3"):
                if mode in ("batch, delegated", "safe 2-of-3") and example == "moonwell-to-aave":
                    continue
                row = {"plan": title, **run_one(example, mode, info, chain, w3, Path(tmp), fee_params)}
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
    print(f"anvil, one block every {BLOCK_SECONDS} s; L1 data fee: Fjord formula, baseFeeScalar {fee_params.base_fee_scalar:,}, "
          f"blobBaseFeeScalar {fee_params.blob_base_fee_scalar:,}, L1 base fee {fee_params.l1_base_fee / 1e9:g} gwei, blob base fee "
          f"{fee_params.blob_base_fee} wei ({fee_params.source})\n")
    print("| plan | mode | transactions | blocks landed | blocks elapsed | wall time | gas used | signed bytes | L1 data fee (wei) |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        if "refused" in r:
            print(f"| {r['plan']} | {r['mode']} | refused: {r['refused'][:110]}… | | | | | | |")
            continue
        print(f"| {r['plan']} | {r['mode']} | {r['transactions']} | {r['blocks_landed']} | {r['blocks_elapsed']} | {r['wall_s']:.2f} s | "
              f"{r['gas']:,} | {r['signed_bytes']:,} | {r['l1_fee_wei']:,} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
