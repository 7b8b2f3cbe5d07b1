"""The node client through a faulty node: every read survives each fault class with bounded retries, a
send is never blindly repeated, and a node that stays broken is one typed line naming method and node."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from chainview import KEY0, WALLET, Chain
from mammon.errors import MammonError
from mammon.node import Node, NodeRateLimited, NodeServerError, NodeTimeout, NodeUnavailable, NodeUnreachable
from proxy import FaultProxy

READS: list[tuple[str, list[Any]]] = [
    ("eth_chainId", []),
    ("eth_blockNumber", []),
    ("eth_getBalance", [WALLET, "latest"]),
    ("eth_getTransactionCount", [WALLET, "pending"]),
    ("eth_getCode", ["0x420000000000000000000000000000000000000F", "latest"]),
    ("eth_call", [{"to": WALLET, "data": "0x"}, "latest"]),
    ("eth_estimateGas", [{"from": WALLET, "to": WALLET, "value": "0x1"}]),
    ("eth_feeHistory", ["0x2", "latest", [50]]),
    ("eth_getBlockByNumber", ["latest", False]),
    ("eth_getTransactionReceipt", ["0x" + "00" * 32]),
    ("eth_getTransactionByHash", ["0x" + "00" * 32]),
    ("eth_gasPrice", []),
]


@pytest.mark.parametrize("fault", ["drop", "drop_after", "429", "502", "32603", "delay", "garbage", "deep"])
def test_every_read_survives_each_fault(fault: str, proxy: FaultProxy, onchain: Chain, fast_client: None) -> None:
    node = Node(proxy.url, timeout=0.5)
    proxy.delay = 0.8  # past the client's timeout
    times = 1 if fault == "delay" else 2
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)  # as importing py_ecc does: an unbounded parse of the deep reply would crash
    try:
        for method, params in READS:
            proxy.fail(method, fault, times)
            assert node.request(method, params) == onchain(method, *params), method
    finally:
        sys.setrecursionlimit(limit)
    injected = {m for (m, f) in proxy.stats if f == fault}
    assert injected == {m for m, _ in READS}  # the fault hit every method, and every method got through


@pytest.mark.parametrize("fault, error, words", [
    ("drop", NodeUnreachable, "cannot reach the node at"),
    ("429", NodeRateLimited, "is rate-limiting this client (HTTP 429 Too Many Requests)"),
    ("502", NodeServerError, "failed to answer (server error) (HTTP 502)"),
    ("32603", NodeServerError, "(JSON-RPC -32603: internal error)"),
    ("delay", NodeTimeout, "did not answer in time (no answer within 1 s)"),
])
def test_a_node_that_stays_broken_is_one_typed_error(fault: str, error: type[NodeUnavailable], words: str, proxy: FaultProxy,
                                                     fast_client: None) -> None:
    node = Node(proxy.url, retries=2)
    proxy.delay = 1.2
    proxy.fail("eth_blockNumber", fault, 10)
    with pytest.raises(error) as exc:
        node.request("eth_blockNumber")
    text = str(exc.value)
    assert text.startswith("node: eth_blockNumber: ") and words in text and text.endswith("after 3 attempts")
    assert proxy.calls["eth_blockNumber"] == 3  # bounded: 1 + 2 retries
    assert "\n" not in text


def test_retry_after_is_honoured_and_bounded(devnet: Any, fast_client: None) -> None:
    with FaultProxy(devnet.rpc_url) as proxy:
        node = Node(proxy.url)
        proxy.fail("eth_blockNumber", "429", 1)
        t0 = time.monotonic()
        node.request("eth_blockNumber")
        assert time.monotonic() - t0 < 0.5  # Retry-After: 0 means now, not the exponential backoff


def test_the_cli_says_rate_limited_not_unreachable(proxy: FaultProxy, mammon: Any, tmp_path: Path, devnet: Any,
                                                   fast_client: None) -> None:
    proxy.fail("eth_chainId", "429", 10)
    run = mammon("plan", Path(__file__).parents[2] / "plans" / "examples" / "wallet-to-aave.yaml", "--chain", "devnet",
                 "--chain-config", devnet.chain_config, "--wallet", WALLET, "--rpc", proxy.url, code=2)
    assert run.error_line == (f"error: --rpc: eth_chainId: the node at {proxy.url} is rate-limiting this client "
                              "(HTTP 429 Too Many Requests) after 5 attempts")


def _signed_transfer(chain: Chain, nonce: int) -> tuple[str, str]:
    from eth_account import Account

    signed = Account.from_key(KEY0).sign_transaction({
        "type": 2, "chainId": 31337, "nonce": nonce, "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "value": 1,
        "gas": 21_000, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9})
    return "0x" + signed.raw_transaction.hex(), "0x" + signed.hash.hex()


@pytest.mark.parametrize("fault, sends", [("drop", 2), ("drop_after", 1), ("delay", 2), ("32603", 2)])
def test_a_send_is_never_blindly_repeated(fault: str, sends: int, proxy: FaultProxy, onchain: Chain, fast_client: None) -> None:
    """The node may or may not have taken the transaction: the runner looks the hash up before sending the
    same bytes again, so the wallet's nonce moves by exactly one whatever the fault."""
    from mammon.run.base import Signed
    from mammon.run.rpc import RpcRunner

    start = onchain.nonce()
    raw, tx_hash = _signed_transfer(onchain, start)
    runner = RpcRunner.__new__(RpcRunner)  # only the broadcast path, no plan needed
    runner.node, runner._nonces, runner._raw, runner._next_nonce = Node(proxy.url), {}, {}, start
    runner._signer = None
    runner.account = lambda: WALLET  # type: ignore[method-assign]
    proxy.delay = 1.3
    proxy.fail("eth_sendRawTransaction", fault, 1)
    runner.broadcast(Signed(tx_hash=tx_hash, raw_tx=raw, nonce=start))
    time.sleep(0.5 if fault == "delay" else 0)  # the delayed request reaches the node after the client gave up
    assert proxy.calls["eth_sendRawTransaction"] == sends
    deadline = time.monotonic() + 5  # anvil's automine mines just after answering: give the block a moment under load
    while onchain("eth_getTransactionReceipt", tx_hash) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert onchain.nonce() == start + 1
    assert onchain("eth_getTransactionReceipt", tx_hash)["status"] == "0x1"


def test_errors_are_mammon_errors() -> None:
    for cls in (NodeUnreachable, NodeTimeout, NodeRateLimited, NodeServerError):
        assert issubclass(cls, MammonError) and cls.exit_code == 2


@pytest.mark.parametrize("fault", ["drop", "drop_after", "429", "502", "32603", "delay", "garbage", "deep"])
def test_a_batch_of_reads_survives_each_fault(fault: str, proxy: FaultProxy, onchain: Chain, fast_client: None) -> None:
    """The rpc runner reads nonce, estimate and fees (and balances, the receipt with its replay) in one batch:
    a fault on the batch retries all of it, like any read, and each call gets its own answer."""
    node = Node(proxy.url, timeout=0.5)
    proxy.delay = 0.8
    proxy.fail("eth_getTransactionCount", fault, 1 if fault == "delay" else 2)
    reads = READS[:9]
    assert node.batch(reads) == [onchain(method, *params) for method, params in reads]
    assert proxy.stats[("eth_getTransactionCount", fault)] >= 1 and proxy.batch_sizes[-1] == len(reads)


def test_a_batch_returns_each_calls_error_and_refuses_sends(proxy: FaultProxy, fast_client: None) -> None:
    from mammon.node import NodeError

    node = Node(proxy.url)
    count, failed = node.batch([("eth_blockNumber", []), ("eth_getBlockByNumber", ["not a block", False])])
    assert isinstance(count, str) and isinstance(failed, NodeError) and failed.method == "eth_getBlockByNumber"
    with pytest.raises(ValueError, match="never in a batch"):
        node.batch([("eth_blockNumber", []), ("eth_sendRawTransaction", ["0x"])])


def test_a_node_without_batches_gets_the_calls_one_by_one(proxy: FaultProxy, onchain: Chain, fast_client: None) -> None:
    proxy.batches = False
    node = Node(proxy.url)
    reads = READS[:4]
    for _ in range(3):
        assert node.batch(reads) == [onchain(method, *params) for method, params in reads]
    assert proxy.batch_sizes == [len(reads)], "refused once, then never tried again on this node"
    assert all(proxy.calls[method] == 3 + (method == "eth_chainId") for method, _ in reads)
