"""On the devnet: the fee ceiling ([policy] max_fee_multiple, hunt_rpc #4) and a node URL's secrets kept off
anvil's command line (hunt_rpc #5)."""

from __future__ import annotations

import base64
import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from mammon.fork import Fork
from mammon.plan.planfile import dump
from mammon.recommend import Recommendation
from mammon.run import record as journal
from rpchelp import WALLET, nonce

MOONWELL_TO_AAVE = Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000")


# --- hunt_rpc #5: the node URL's secrets never reach anvil's argv ------------------------------------


class Recorder:
    """A node with an API key: records each request's path and Authorization, answers from the devnet."""

    def __init__(self, devnet_url: str) -> None:
        self.seen: list[tuple[str, str | None]] = []
        up = urlsplit(devnet_url)
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                recorder.seen.append((self.path, self.headers.get("Authorization")))
                body = self.rfile.read(int(self.headers["Content-Length"]))
                conn = http.client.HTTPConnection(up.hostname or "", up.port, timeout=30)
                conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
                payload = conn.getresponse().read()
                conn.close()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture()
def keyed_node(rpc_devnet: Any) -> Iterator[Recorder]:
    rec = Recorder(rpc_devnet.rpc_url)
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


def test_a_forks_anvil_never_sees_the_node_urls_credentials(keyed_node: Recorder, w3: Any) -> None:
    url = f"http://alice:s3cretPW@127.0.0.1:{keyed_node.port}/v2/KEY123?apikey=APIKEY456"
    with Fork(url) as fork:
        assert fork._proc is not None
        argv = Path(f"/proc/{fork._proc.pid}/cmdline").read_bytes().decode()
        for secret in ("alice", "s3cretPW", "KEY123", "APIKEY456"):
            assert secret not in argv, argv
        assert "--fork-url\x00http://127.0.0.1:" in argv
        # the fork really reads the node through the relay, which adds the path, the query and the credentials
        balance = int(fork.request("eth_getBalance", [WALLET, hex(fork.block)]), 16)
        assert balance == w3.eth.get_balance(WALLET, fork.block)
    auth = "Basic " + base64.b64encode(b"alice:s3cretPW").decode()
    assert keyed_node.seen and set(keyed_node.seen) == {("/v2/KEY123?apikey=APIKEY456", auth)}


def test_a_plain_local_url_is_given_to_anvil_as_it_is(rpc_devnet: Any) -> None:
    with Fork(rpc_devnet.rpc_url) as fork:
        assert fork._relay is None and fork._proc is not None
        assert f"--fork-url\x00{rpc_devnet.rpc_url}\x00" in Path(f"/proc/{fork._proc.pid}/cmdline").read_bytes().decode()


# --- hunt_rpc #4: no fee above the policy's ceiling ---------------------------------------------------


@pytest.fixture()
def next_base_fee(w3: Any) -> Iterator[int]:
    """The devnet's next-block base fee, put back after the test: anvil_setNextBlockBaseFeePerGas outlives evm_revert,
    and a refused apply mines no block to use it up, so a spike would reach every later test on the shared devnet."""
    normal = int(w3.eth.fee_history(1, "latest")["baseFeePerGas"][-1])
    yield normal
    w3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(normal)])


def _apply(mammon: Any, rpc_devnet: Any, key0: str, plan: Path, tmp_path: Path, *extra: Any, code: int | None) -> Any:
    return mammon("apply", plan, "--runner", "rpc", "--rpc-url", rpc_devnet.rpc_url, "--chain-config", rpc_devnet.chain_config,
                  "--state-dir", tmp_path / "state", "--yes", "--quiet", "-o", tmp_path / "run.json", *extra,
                  code=code, env={"MAMMON_PRIVATE_KEY": key0})


def test_fees_above_the_ceiling_send_nothing(rpc_devnet: Any, compile_on_devnet: Any, mammon: Any, key0: str, w3: Any, tmp_path: Path,
                                            next_base_fee: int) -> None:
    """The node's fees jump to 50x the gas price the plan was reviewed at: refused before signing, nothing sent."""
    plan = compile_on_devnet(MOONWELL_TO_AAVE)
    dump(plan, tmp_path / "plan.yaml")
    spike = int(plan.market.gas_price_gwei * 10**9) * 50
    w3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(spike)])
    start = nonce(w3)
    run = _apply(mammon, rpc_devnet, key0, tmp_path / "plan.yaml", tmp_path, code=2)
    line = run.error_line
    assert line.startswith("error: max_fee_multiple: fees on the node are now "), line
    assert f"above 3 x the {plan.market.gas_price_gwei.normalize():f} gwei the plan was reviewed at" in line
    assert "nothing was signed or sent" in line
    assert nonce(w3) == start, "nothing was sent"


def test_a_policy_ceiling_is_what_signing_obeys(rpc_devnet: Any, compile_on_devnet: Any, mammon: Any, key0: str, w3: Any, tmp_path: Path) -> None:
    """The ceiling comes from [policy] max_fee_multiple; every transaction sent has maxFeePerGas under it."""
    plan = compile_on_devnet(MOONWELL_TO_AAVE)
    dump(plan, tmp_path / "plan.yaml")
    (tmp_path / "low.toml").write_text("[policy]\nmax_fee_multiple = 0.01\n")
    start = nonce(w3)
    line = _apply(mammon, rpc_devnet, key0, tmp_path / "plan.yaml", tmp_path, "--policy", tmp_path / "low.toml", code=2).error_line
    assert line.startswith("error: max_fee_multiple: fees on the node are now ") and "above 0.01 x the" in line, line
    assert nonce(w3) == start
    (tmp_path / "ok.toml").write_text("[policy]\nmax_fee_multiple = 2.5\n")
    _apply(mammon, rpc_devnet, key0, tmp_path / "plan.yaml", tmp_path, "--policy", tmp_path / "ok.toml", code=0)  # the rerun, same record
    cap = int(plan.market.gas_price_gwei * 10**9 * 25 // 10)
    record = journal.load(tmp_path / "run.json")
    assert record.status == "ok" and nonce(w3) == start + len(record.steps)
    for step in record.steps:
        assert w3.eth.get_transaction(step.tx_hash)["maxFeePerGas"] <= cap
    out = mammon("diff", tmp_path / "plan.yaml", tmp_path / "run.json").stdout
    assert "\nfees      paid L2 " in out and " · the plan's totals: " in out and "MISMATCH" not in out


def test_a_fee_spike_mid_run_stops_before_signing_and_the_rerun_sends_each_step_once(
        rpc_devnet: Any, compile_on_devnet: Any, apply_rpc: Any, key0: str, w3: Any, tmp_path: Path, next_base_fee: int) -> None:
    """Fees jump after the first transaction: the run stops before signing the second (interrupted, nothing more
    sent); once fees are back, the rerun of the same record sends the remaining steps, each exactly once."""
    from mammon.errors import FeeCeilingError
    from mammon.run.rpc import RpcRunner

    plan = compile_on_devnet(MOONWELL_TO_AAVE)
    spike = int(plan.market.gas_price_gwei * 10**9) * 50

    class SpikeAfterFirst(RpcRunner):
        def wait(self, tx_hash: str) -> Any:
            outcome = super().wait(tx_hash)
            w3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(spike)])
            return outcome

    start, record = nonce(w3), tmp_path / "run.json"
    with pytest.raises(FeeCeilingError, match="^max_fee_multiple: fees on the node are now .* nothing was signed or sent"):
        apply_rpc(plan, SpikeAfterFirst.create(plan, rpc_url=rpc_devnet.rpc_url), record=record)
    first = journal.load(record)
    assert nonce(w3) == start + 1 and first.status == "interrupted"
    assert [s.status for s in first.steps] == ["ok", "pending", "pending"] and first.steps[1].tx_hash is None
    w3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(next_base_fee)])  # fees are back
    again = apply_rpc(plan, record=record).record
    assert again.status == "ok" and nonce(w3) == start + 3
    assert again.steps[0].tx_hash == first.steps[0].tx_hash, "the first step was not sent again"
