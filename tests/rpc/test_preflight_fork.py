"""The rpc runner's preflight fork boots while the plan is checked, and never outlives the runner (issue #10)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mammon.proc import pid_alive
from mammon.recommend import Recommendation
from mammon.run.rpc import RpcRunner

MOONWELL_TO_AAVE = Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000")


def test_the_preflight_runs_on_the_fork_started_with_the_runner(rpc_devnet: Any, key0: str, compile_on_devnet: Callable[..., Any],
                                                                  apply_rpc: Callable[..., Any]) -> None:
    plan = compile_on_devnet(MOONWELL_TO_AAVE)
    runner = RpcRunner.create(plan, rpc_url=rpc_devnet.rpc_url)
    assert runner._early_fork is None, "only `mammon apply` starts it early (apply_file), not every library caller"
    runner.start_preflight_fork()
    early = runner._early_fork
    assert early is not None and early._proc is not None and pid_alive(early._proc.pid), "anvil spawned when the runner was created"
    pid = early._proc.pid
    applied = apply_rpc(plan, runner)
    assert applied.record.status == "ok"
    assert runner._early_fork is None and not pid_alive(pid), "the preflight used that fork and stopped it"


def test_an_unused_preflight_fork_is_stopped_with_the_runner(rpc_devnet: Any, key0: str, compile_on_devnet: Callable[..., Any]) -> None:
    plan = compile_on_devnet(MOONWELL_TO_AAVE)
    runner = RpcRunner.create(plan, rpc_url=rpc_devnet.rpc_url)
    runner.start_preflight_fork()
    assert runner._early_fork is not None and runner._early_fork._proc is not None
    pid = runner._early_fork._proc.pid
    runner.close()
    assert not pid_alive(pid)
