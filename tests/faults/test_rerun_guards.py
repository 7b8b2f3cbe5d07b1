"""What a user sees when a run is cut short or the node answers nonsense (hunt_rpc findings 6, 8, 11):

* rerunning `mammon rebalance` (or `Rebalancer.execute`) after a crash is refused naming the unfinished record and
  the `mammon apply` that resumes it; resuming it finishes the rebalance once (the wallet's nonce counts it);
* a node result without its method's shape (a null nonce, a string receipt) is one line, exit 2, never an
  "internal error"; a transaction already sent leaves the record `interrupted` and the rerun resolves it;
* a batch (EIP-7702) transaction whose nonce another sender took is recorded `dropped` and the run `interrupted`;
  the rerun checks and signs it again (one batch mined), and a fresh record is not refused as a replay of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import checks
from chainview import FAST, KEY0, WALLET, Chain, record_of
from mammon_test_support import EXAMPLES_DIR
from proxy import FaultProxy

THREE = "moonwell-to-aave"  # withdraw, approve, deposit


class RewritingProxy(FaultProxy):
    """A FaultProxy whose scripted fault may also be a rewrite of the node's result (`rewrites[name](result)`),
    for the calls of the method it is scripted on (in a batch too); `before[name]()` runs just before forwarding."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.rewrites: dict[str, Callable[[Any], Any]] = {}
        self.before: dict[str, Callable[[], None]] = {}
        self._local = threading.local()

    def choose(self, method: str, agent: str = "mammon") -> str | None:
        fault = super().choose(method, agent)
        if fault in self.rewrites or fault in self.before:
            self._local.hit = (method, fault)
            return None  # forwarded as usual; `forward` rewrites or prepares
        return fault

    def choose_method(self, methods: list[str], agent: str = "mammon") -> tuple[str | None, str | None]:
        self._local.hit = None  # (each request: the proxy's handler asks this once, before `choose` per method)
        return super().choose_method(methods, agent)

    def forward(self, body: bytes) -> tuple[int, bytes]:
        hit = getattr(self._local, "hit", None)
        if hit is not None and hit[1] in self.before:
            self.before[hit[1]]()
        status, payload = super().forward(body)
        if hit is None or hit[1] not in self.rewrites:
            return status, payload
        method, name = hit
        request, reply = json.loads(body), json.loads(payload)
        pairs = zip(request, reply) if isinstance(request, list) else [(request, reply)]
        for call, answer in pairs:
            if call.get("method") == method and "result" in answer:
                answer["result"] = self.rewrites[name](answer["result"])
        return status, json.dumps(reply).encode()


@pytest.fixture()
def rewriting(devnet: Any) -> Any:
    with RewritingProxy(devnet.rpc_url) as p:
        yield p


def _mammon(*args: Any, state: Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("MAMMON_TEST_")}
    full.update({"MAMMON_PRIVATE_KEY": KEY0, "MAMMON_STATE_DIR": str(state), **FAST, **(env or {})})
    proc = subprocess.run([sys.executable, "-m", "mammon.cli", *map(str, args)], env=full, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), (proc.returncode, proc.stderr)
    return lines[0]


# --- 11: a rebalance rerun after a crash ------------------------------------------------------------


def test_a_rebalance_rerun_after_a_crash_is_refused_until_the_unfinished_apply_is_resumed(
        devnet: Any, onchain: Chain, tmp_path: Path, state_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mammon import Rebalancer
    from mammon.rebalance import UnfinishedApply
    from mammon.run.session import unfinished_runs

    rec = tmp_path / "rec.yaml"
    rec.write_text((EXAMPLES_DIR / f"{THREE}.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    command = ["rebalance", rec, "--chain", "devnet", "--chain-config", devnet.chain_config, "--wallet", WALLET, "--runner", "rpc",
               "--rpc-url", devnet.rpc_url, "--yes"]
    start = onchain.nonce()
    killed = _mammon(*command, state=state_home, cwd=tmp_path, env={"MAMMON_TEST_KILL_AT": "step_broadcast:2"})
    assert killed.returncode == -9, killed.stderr  # withdraw mined, approve broadcast, no receipt read
    [plan] = tmp_path.glob("rec-*.plan.yaml")
    record = plan.with_name(plan.name.removesuffix(".yaml") + ".run.json")
    assert onchain.nonce() == start + 2

    line = _one_line(_mammon(*command, state=state_home, cwd=tmp_path))
    assert line == (f"error: rebalance: an unfinished apply of {WALLET} on devnet (31337) may have sent transactions: run record {record} "
                    f"(running, step(s) deposit_approve sent with outcome unknown); resume it first with `mammon apply {plan} --runner rpc "
                    f"-o {record}` and the same node options, then rebalance again (a new plan now would repeat its steps)")
    assert onchain.nonce() == start + 2 and list(tmp_path.glob("rec-*.plan.yaml")) == [plan], "nothing compiled, nothing sent"

    monkeypatch.setenv("MAMMON_PRIVATE_KEY", KEY0)
    for k, v in FAST.items():
        monkeypatch.setenv(k, v)
    r = Rebalancer(chain="devnet", wallet=WALLET, runner="rpc", rpc_url=devnet.rpc_url, chain_config=devnet.chain_config,
                   plan_dir=tmp_path / "plans", state_dir=state_home)
    with pytest.raises(UnfinishedApply, match=f"run record {record} "):
        r.execute(rec)  # the optimizer's loop restarted: refused the same way
    assert onchain.nonce() == start + 2 and not (tmp_path / "plans").exists()

    resumed = _mammon("apply", plan, "--runner", "rpc", "-o", record, "--rpc-url", devnet.rpc_url, "--chain-config", devnet.chain_config,
                      "--yes", "--quiet", state=state_home, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert onchain.nonce() == start + 3, "the rebalance ran once: three transactions for three steps"
    assert record_of(record)["status"] == "ok"
    assert unfinished_runs(state_home, WALLET, 31337) == []  # the next rebalance may compile


# --- 6: malformed node results ------------------------------------------------------------------------


def test_a_null_nonce_from_the_node_is_one_line_and_nothing_is_sent(compile_plan: Any, apply_cli: Any, onchain: Chain,
                                                                    rewriting: RewritingProxy, tmp_path: Path) -> None:
    plan = compile_plan(THREE)
    start = onchain.nonce()
    rewriting.rewrites["null"] = lambda _result: None
    rewriting.fail("eth_getTransactionCount", "null", 1000)
    result = apply_cli(plan, url=rewriting.url)
    assert result.code == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"error: node: eth_getTransactionCount: the node at {rewriting.url} failed to answer (server error) "
                                    "(the result is not a hex quantity)"), result.stderr
    assert onchain.nonce() == start and not (tmp_path / "run.json").exists()


@pytest.mark.parametrize("method, params, bad, problem", [
    ("eth_blockNumber", [], "0xzz", "the result is not a hex quantity"),
    ("eth_getTransactionCount", [WALLET, "latest"], 7, "the result is not a hex quantity"),
    ("eth_feeHistory", ["0x2", "latest", [50]], {"baseFeePerGas": ["high"]}, "the fee history's baseFeePerGas is not a list of hex quantities"),
    ("eth_getBlockByNumber", ["latest", True], "0x12", "the result is not a block object"),
    ("eth_getTransactionReceipt", ["0x" + "ab" * 32], {"blockNumber": "0x1"}, "the mined receipt has no gasUsed or transactionHash"),
    ("eth_getTransactionByHash", ["0x" + "ab" * 32], {"nonce": None, "gas": 21000}, "the transaction's gas is not a hex quantity"),
    ("eth_getCode", [WALLET, "latest"], "0x123", "the result is not hex data"),
])
def test_every_read_result_is_checked_for_its_shape(method: str, params: list[Any], bad: Any, problem: str, rewriting: RewritingProxy,
                                                     fast_client: None) -> None:
    from mammon.node import Node, NodeServerError

    node = Node(rewriting.url, retries=0)
    rewriting.rewrites["bad"] = lambda _result: bad
    rewriting.fail(method, "bad", 1)
    with pytest.raises(NodeServerError) as err:
        node.request(method, params)
    assert str(err.value) == f"node: {method}: the node at {rewriting.url} failed to answer (server error) ({problem})"
    node.request(method, params)  # the next answer is the node's own, and passes
    node.close()


def test_a_receipt_that_is_not_an_object_leaves_the_run_interrupted_and_the_rerun_resolves_it(
        compile_plan: Any, apply_cli: Any, onchain: Chain, rewriting: RewritingProxy, tmp_path: Path) -> None:
    plan = compile_plan(THREE)
    start = checks.before(onchain, plan)
    rewriting.rewrites["string"] = lambda _result: "0x1234"
    rewriting.fail("eth_getTransactionReceipt", "string", 1000)
    broken = apply_cli(plan, url=rewriting.url)
    assert broken.code == 2 and len(broken.stderr.splitlines()) == 1, broken.stderr
    assert broken.stderr.startswith(f"error: node: eth_getTransactionReceipt: the node at {rewriting.url} failed to answer (server error) "
                                    "(the result is not a receipt object)"), broken.stderr
    record = record_of(tmp_path / "run.json")
    assert record["status"] == "interrupted" and [s["status"] for s in record["steps"]] == ["sent", "pending", "pending"]
    fixed = apply_cli(plan)
    assert fixed.code == 0, fixed.stderr
    checks.right_state(onchain, plan, start, record_of(tmp_path / "run.json"))  # one transaction per step


def test_an_unexpected_exception_after_a_send_leaves_the_run_interrupted(compile_plan: Any, onchain: Chain, devnet: Any, chain: Any,
                                                                          tmp_path: Path, state_home: Path, monkeypatch: Any) -> None:
    """Not a MammonError (a bug, a library's surprise): the record still says `interrupted`, and the rerun resolves the step."""
    from mammon import clock
    from mammon.plan.planfile import load
    from mammon.run.engine import ApplyOptions, apply_plan
    from mammon.run.rpc import RpcRunner

    monkeypatch.setenv("MAMMON_PRIVATE_KEY", KEY0)
    plan = load(compile_plan(THREE))
    start = onchain.nonce()
    state_home.mkdir(parents=True, exist_ok=True)
    opts = ApplyOptions(record_path=tmp_path / "run.json", state_dir=state_home, chain=chain, now=clock.now)
    runner = RpcRunner.create(plan, rpc_url=devnet.rpc_url)
    monkeypatch.setattr(runner, "wait", lambda tx_hash: (_ for _ in ()).throw(RuntimeError("surprise")))
    with pytest.raises(RuntimeError):
        apply_plan(plan, runner, opts)
    runner.close()
    record = record_of(tmp_path / "run.json")
    assert record["status"] == "interrupted" and record["interrupted"] == "RuntimeError" and record["steps"][0]["status"] == "sent"
    runner = RpcRunner.create(plan, rpc_url=devnet.rpc_url)
    try:
        assert apply_plan(plan, runner, opts).status == "ok"
    finally:
        runner.close()
    assert onchain.nonce() == start + 3


# --- 8: a batch whose nonce another sender took ----------------------------------------------------------


def test_a_dropped_batch_is_recorded_then_signed_again_once(compile_plan: Any, apply_cli: Any, onchain: Chain, devnet: Any,
                                                            rewriting: RewritingProxy, tmp_path: Path, mammon: Any) -> None:
    from chainview import ACCOUNT1

    plan = tmp_path / "batch.yaml"
    mammon("plan", EXAMPLES_DIR / "aave-to-morpho.yaml", "--chain", "devnet", "--chain-config", devnet.chain_config, "--wallet", WALLET,
           "--execution", "batch", "--rpc", devnet.rpc_url, "-o", plan)
    start, block = onchain.nonce(), int(onchain("eth_blockNumber"), 16) + 1
    taken: list[str] = []
    rewriting.before["thief"] = lambda: taken.append(onchain.send_from(WALLET, ACCOUNT1))  # the wallet used elsewhere, just before
    rewriting.fail("eth_sendRawTransaction", "thief", 1)
    dropped = apply_cli(plan, "--runner", "batch", url=rewriting.url)
    assert dropped.code == 2 and len(dropped.stderr.splitlines()) == 1, dropped.stderr
    record = record_of(tmp_path / "run.json")
    [sent] = {s["replaced"][0] for s in record["steps"]}
    assert dropped.stderr == f"error: rpc: {sent} can never be mined: nonce {start} of the wallet was taken by transaction {taken[0]}\n"
    assert record["status"] == "interrupted" and {s["status"] for s in record["steps"]} == {"dropped"}
    assert all(s["conflict_tx"] == taken[0] and "tx_hash" not in s for s in record["steps"])
    assert onchain.nonce() == start + 1  # only the other sender's transfer

    fresh = apply_cli(plan, "--runner", "batch", record=tmp_path / "other.run.json")  # a dropped send is not "applied"
    assert fresh.code == 0, fresh.stderr
    assert len(onchain.sent_by(WALLET, block)) == 2  # the other sender's transfer and one batch
    again = apply_cli(plan, "--runner", "batch")  # the dropped record, now that the plan was applied elsewhere: a replay
    assert again.code == 2 and "was already applied on devnet (31337)" in again.stderr and str(tmp_path / "other.run.json") in again.stderr
    assert len(onchain.sent_by(WALLET, block)) == 2


def test_a_dropped_batch_rerun_with_its_record_signs_it_again(compile_plan: Any, apply_cli: Any, onchain: Chain, devnet: Any,
                                                              rewriting: RewritingProxy, tmp_path: Path, mammon: Any) -> None:
    from chainview import ACCOUNT1

    plan = tmp_path / "batch.yaml"
    mammon("plan", EXAMPLES_DIR / "aave-to-morpho.yaml", "--chain", "devnet", "--chain-config", devnet.chain_config, "--wallet", WALLET,
           "--execution", "batch", "--rpc", devnet.rpc_url, "-o", plan)
    block = int(onchain("eth_blockNumber"), 16) + 1
    rewriting.before["thief"] = lambda: onchain.send_from(WALLET, ACCOUNT1) and None
    rewriting.fail("eth_sendRawTransaction", "thief", 1)
    assert apply_cli(plan, "--runner", "batch", url=rewriting.url).code == 2
    first = record_of(tmp_path / "run.json")["steps"][0]["replaced"]
    rerun = apply_cli(plan, "--runner", "batch")
    assert rerun.code == 0, rerun.stderr
    record = record_of(tmp_path / "run.json")
    assert record["status"] == "ok" and all(s["status"] == "ok" and s["replaced"] == first for s in record["steps"])
    assert len(onchain.sent_by(WALLET, block)) == 2  # the other sender's transfer and one batch
