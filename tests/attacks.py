"""Edits an attacker with write access to a plan file would make (imported as `attacks`).

Each edit keeps the calldata and the decoded view consistent (the view is rebuilt from the new bytes,
as the compiler builds it) and the caller re-seals the content hash, so only mammon's own derivation
of what the bytes do can catch it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mammon.abi import decode_call, function
from mammon.chains import ChainConfig
from mammon.plan.decode import units_of, view
from mammon.plan.model import Call, Gas, Plan, Step

OUTSIDER = "0x00000000000000000000000000000000DeaDBeef"
UINT256_MAX = 2**256 - 1


def _labels(plan: Plan, chain: ChainConfig) -> dict[str, str]:
    return {**chain.known_addresses(), plan.wallet.lower(): "wallet"}


def _set(args: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        args = args[part]
    args[leaf] = value


def edit_args(plan: Plan, chain: ChainConfig, step_id: str, **changes: Any) -> Plan:
    """Change call arguments (dotted paths with '__' for '.') and rebuild the step's view from the new bytes."""
    step = plan.step(step_id)
    fn, args = decode_call(step.call.data)
    for path, value in changes.items():
        _set(args, path.replace("__", "."), value)
    data = fn.encode(args)
    decoded = view(data, step.decoded.contract, units_of(step), _labels(plan, chain), fn.abi_file)
    edited = step.model_copy(update={"call": step.call.model_copy(update={"data": data}), "decoded": decoded})
    return plan.model_copy(update={"steps": [edited if s.id == step_id else s for s in plan.steps]})


def add_erc20_step(plan: Plan, chain: ChainConfig, name: str, step_id: str, kind: str, **args: Any) -> Plan:
    """Append an ERC-20 call on USDC after the last step (e.g. transfer or approve to an outsider)."""
    usdc = chain.token("USDC")
    fn = function("erc20/ERC20", name)
    data = fn.encode(args)
    decoded = view(data, "USDC token", {"value": ("USDC", usdc.decimals)}, _labels(plan, chain), fn.abi_file)
    step = Step(id=step_id, kind=kind, venue="erc20", description=f"{name} USDC", depends_on=[plan.steps[-1].id],  # type: ignore[arg-type]
                call=Call(to=usdc.address, value=0, data=data), decoded=decoded, gas=Gas(estimate=50_000, source="static"))
    return plan.model_copy(update={"steps": [*plan.steps, step]})


def deposit_on_behalf_of_outsider(plan: Plan, chain: ChainConfig) -> Plan:
    return edit_args(plan, chain, "deposit", onBehalfOf=OUTSIDER)


def extra_transfer(plan: Plan, chain: ChainConfig) -> Plan:
    return add_erc20_step(plan, chain, "transfer", "sweep", "deposit", to=OUTSIDER, value=500 * 10**6)


def extra_unlimited_approve(plan: Plan, chain: ChainConfig) -> Plan:
    return add_erc20_step(plan, chain, "approve", "sweep_approve", "approve", spender=OUTSIDER, value=UINT256_MAX)


def totals_spend_zero(plan: Plan, chain: ChainConfig) -> Plan:
    return plan.model_copy(update={"totals": plan.totals.model_copy(update={"spend": {k: 0 for k in plan.totals.spend}})})


def swap_min_out_one(plan: Plan, chain: ChainConfig) -> Plan:
    return edit_args(plan, chain, "swap", params__amountOutMinimum=1)


Attack = Callable[[Plan, ChainConfig], Plan]

MOONWELL_TO_AAVE = {"from_protocol": "moonwell", "to_protocol": "aave_v3", "token": "USDC", "amount": "1000"}

#: name -> (edit, recommendation it applies to, fragment of the one-line refusal)
ROWS: dict[str, tuple[Attack, dict[str, str], str]] = {
    "deposit-onBehalfOf-outsider": (
        deposit_on_behalf_of_outsider, MOONWELL_TO_AAVE,
        f"step deposit: onBehalfOf: is {OUTSIDER} (not in the registry), not the plan's wallet"),
    "extra-transfer-step": (
        extra_transfer, MOONWELL_TO_AAVE,
        "step sweep: call.data: transfer(address,uint256) is not a call mammon compiles"),
    "extra-unlimited-approve": (
        extra_unlimited_approve, MOONWELL_TO_AAVE,
        f"step sweep_approve: spender: approves {OUTSIDER} (not in the registry), which is not a contract of the"),
    "totals-spend-zero": (
        totals_spend_zero, MOONWELL_TO_AAVE,
        "totals.spend.USDC: the plan states 0 but its calls pull at most 1000000000"),
    "swap-min-out-one": (
        swap_min_out_one, {"to_protocol": "aave_v3", "token": "USDC", "to_token": "WETH", "amount": "1000"},
        "step swap: guards: the plan's min-out guards are "),
}
