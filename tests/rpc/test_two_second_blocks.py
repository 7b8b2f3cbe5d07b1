"""Every example applied on 2-second blocks (issue #8: time passes between the reads and the block).

The devnet switches from automine to interval mining (anvil `evm_setIntervalMining`, a block every 2 s of
wall time, block timestamps 2 s apart): a transaction waits in the pool for the next block, so aToken
balances, Moonwell exchange rates and the Aave indexes move between the runner's read before a step and its
read after, as on Base. Every example recommendation (plans/examples and plans/examples/devnet) is compiled
with the node's state (as `plan --rpc` does) and applied with the rpc runner: every step must succeed, in a
block of its own, and the diff must be clean, each effect within the plan's stated tolerance.

Cost: on 2-second blocks each step waits ~2 s of wall time, so one example after another would take ~7 min.
The examples run instead in waves, several at once from different funded wallets (the time is what it is:
the blocks stay 2 s apart), each wave from the funded state. Two plans share a wave only if no contract
whose balance one of them expects to change (a pool, a vault, an Aave reserve, a Moonwell market) appears
in the other: the runner measures an effect as the account's balance change across the step's block, which
would include the other wallet's transaction in that block, and a swap moves the price the other plan
quoted. The same examples apply on automine in test_rpc_examples.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mammon.diff import diff, render_text
from mammon.recommend import load_recommendations

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "plans" / "examples"
FILES = sorted(EXAMPLES_DIR.glob("*.yaml")) + sorted((EXAMPLES_DIR / "devnet").glob("*.yaml"))
CASES = [(f"{path.stem}[{i}]", rec) for path in FILES for i, rec in enumerate(load_recommendations(path))]
# anvil's public test phrase (anvil prints it at startup); accounts from index 10 on hold nothing until funded here
ANVIL_PHRASE = "test test test test test test test test test test test junk"
LANES = 8  # wallets applying at once


@pytest.fixture()
def lanes(rpc_devnet: Any, w3: Any, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """(account index, address) of LANES wallets derived from anvil's phrase, each funded with the default portfolio."""
    from mammon.devnet.deploy import fund
    from mammon.run.keys import from_mnemonic

    monkeypatch.delenv("MAMMON_PRIVATE_KEY", raising=False)
    monkeypatch.setenv("MAMMON_MNEMONIC", ANVIL_PHRASE)
    wallets = [(i, from_mnemonic(ANVIL_PHRASE, account_index=i).address) for i in range(10, 10 + LANES)]
    fund(w3, rpc_devnet.deployment, [a for _, a in wallets], Path(request.config.cache.mkdir("mammon-devnet")))
    return wallets


@pytest.fixture()
def two_second_blocks(w3: Any) -> Iterator[Any]:
    """Interval mining every 2 s with timestamps 2 s apart; automine and the 12 s timestamps come back after."""
    w3.provider.make_request("anvil_setBlockTimestampInterval", [2])
    w3.provider.make_request("evm_setIntervalMining", [2])
    try:
        yield w3
    finally:
        w3.provider.make_request("evm_setIntervalMining", [0])
        w3.provider.make_request("evm_setAutomine", [True])
        w3.provider.make_request("anvil_setBlockTimestampInterval", [12])


def waves(exclusive: dict[str, set[str]], width: int) -> list[list[str]]:
    """Group cases so that no two in a group share an exclusive contract, at most `width` per group (greedy,
    the cases with the most contested contracts first)."""
    load: dict[str, int] = {}
    for contracts in exclusive.values():
        for c in contracts:
            load[c] = load.get(c, 0) + 1
    order = sorted(exclusive, key=lambda case: -max((load[c] for c in exclusive[case]), default=0))
    groups: list[tuple[list[str], set[str]]] = []
    for case in order:
        for members, used in groups:
            if len(members) < width and not used & exclusive[case]:
                members.append(case)
                used |= exclusive[case]
                break
        else:
            groups.append(([case], set(exclusive[case])))
    return [members for members, _ in groups]


def test_every_example_applies_on_two_second_blocks(compile_on_devnet: Any, apply_rpc: Any, rpc_devnet: Any, lanes: list[tuple[int, str]],
                                                    two_second_blocks: Any, tmp_path: Path) -> None:
    from mammon.run.rpc import RpcRunner

    w3 = two_second_blocks
    recs = dict(CASES)
    exclusive = {case: {e.account.lower() for s in compile_on_devnet(rec, lanes[0][1]).steps for e in s.effects
                        if e.account.lower() != lanes[0][1].lower()} for case, rec in CASES}
    groups = waves(exclusive, len(lanes))
    started, failures, timed = time.perf_counter(), [], 0

    def run(case: str, lane: tuple[int, str]) -> tuple[str, Any, Any]:
        index, wallet = lane
        (tmp_path / case).mkdir()
        plan = compile_on_devnet(recs[case], wallet)
        runner = RpcRunner.create(plan, rpc_url=rpc_devnet.rpc_url, account_index=index)
        applied = apply_rpc(plan, runner, record=tmp_path / case / "run.json", state_dir=tmp_path / f"state-{index}")
        return case, plan, applied.record

    funded = w3.provider.make_request("evm_snapshot", [])["result"]
    for group in groups:  # each wave starts from the funded wallets' default portfolio (an example may empty a position)
        w3.provider.make_request("evm_revert", [funded])
        funded = w3.provider.make_request("evm_snapshot", [])["result"]
        with ThreadPoolExecutor(len(group)) as pool:
            results = list(pool.map(run, group, lanes))
        for case, plan, record in results:
            result = diff(plan, record)
            if record.status != "ok" or not result.ok:
                failures.append(f"{case}:\n{render_text(result)}")
                continue
            blocks = [w3.eth.get_transaction_receipt(s.tx_hash)["blockNumber"] for s in record.steps]
            assert blocks == sorted(blocks) and len(set(blocks)) == len(blocks), case  # one block per step: time passed between
            timed += any("interest at" in e.tolerance for e in result.effects)
    assert not failures, "\n\n".join(failures)
    print(f"\n{len(CASES)} examples in {len(groups)} waves of up to {len(lanes)} wallets on 2 s blocks: "
          f"{time.perf_counter() - started:.0f} s; {timed} with effects whose tolerance includes interest")
    assert timed >= len(CASES) // 2  # the default world's rates reach most examples
