"""`mammon apply --runner rpc` with a hex key never loads the web3 / eth-account / py_ecc stack (issue #10).

Those cost about half a second of imports and shutdown, a third of the whole apply: the rpc runner talks to
the node through `mammon.node` and signs its EIP-1559 transactions with eth-keys (`mammon.run.eip1559`),
while the preflight still runs the whole plan on an anvil fork. The apply here is real (a devnet, the
signed transactions mined), in a fresh interpreter that reports the top-level packages it loaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from mammon.plan.planfile import dump
from mammon.recommend import Recommendation
from mammon_test_support import cli_probe, probe_report
from rpchelp import KEY0, nonce

SIGNING_STACK = {"web3", "eth_account", "eth_keyfile", "py_ecc", "aiohttp", "requests"}
PROBE = cli_probe("""
import mammon.run.engine as engine
report["preflights"] = preflights = []
real = engine.preflight
def preflight(*args, **kwargs):
    problems = real(*args, **kwargs)
    preflights.append(problems)
    return problems
engine.preflight = preflight
""")


def test_an_rpc_apply_loads_no_web3_or_eth_account(rpc_devnet: Any, compile_on_devnet: Any, w3: Any, tmp_path: Path) -> None:
    plan = compile_on_devnet(Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000"))
    path = tmp_path / "plan.json"
    dump(plan, path)
    before = nonce(w3)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MAMMON_")}, "MAMMON_PRIVATE_KEY": KEY0,
           "MAMMON_NOW": os.environ.get("MAMMON_NOW", ""), "MAMMON_DEVNET_CONFIG": str(rpc_devnet.chain_config)}
    run = subprocess.run([sys.executable, "-c", PROBE, "apply", str(path), "--runner", "rpc", "--rpc-url", rpc_devnet.rpc_url, "--yes",
                          "--quiet", "-o", str(tmp_path / "run.json"), "--state-dir", str(tmp_path / "state")],
                         capture_output=True, text=True, env=env, timeout=180)
    report = probe_report(run.stderr)
    assert report["code"] in (0, None), run.stdout + run.stderr
    assert report["preflights"] == [[]], "the whole-plan preflight ran (on the anvil fork) and found nothing"
    assert nonce(w3) == before + len(plan.steps), "every step was signed, sent and mined"
    assert not set(report["modules"]) & SIGNING_STACK, sorted(set(report["modules"]) & SIGNING_STACK)
