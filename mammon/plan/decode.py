"""The human view of a call, built from its bytes: review trusts this, never a stored description.

`view()` decodes calldata with the ABIs and flattens arguments to dotted names
(`params.amountIn`, `routes[0].from`); `verify()` rebuilds the view of a stored step and
refuses the plan where the bytes and the stored view disagree.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from mammon.abi import decode_call
from mammon.errors import TamperedPlanError
from mammon.plan.model import Decoded, DecodedArg, Step
from mammon.units import format_amount

Units = dict[str, tuple[str, int]]  # arg path -> (token symbol, decimals)


def _flatten(params: tuple[dict[str, Any], ...] | list[dict[str, Any]], values: dict[str, Any], prefix: str = "") -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = []
    for param in params:
        name, kind, value = prefix + param["name"], param["type"], values[param["name"]]
        if kind == "tuple":
            out += _flatten(param["components"], value, name + ".")
        elif kind == "tuple[]":
            for i, item in enumerate(value):
                out += _flatten(param["components"], item, f"{name}[{i}].")
        else:
            out.append((name, kind, value))
    return out


def _json_value(kind: str, value: Any) -> Any:
    if kind.startswith(("uint", "int")) and not kind.endswith("]"):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(kind.rstrip("[]"), v) for v in value]
    return value


def view(data: str, contract: str, units: Units, labels: dict[str, str], abi: str | None = None) -> Decoded:
    """Decode `data` and render each argument: token amounts in units, known addresses by name."""
    fn, args = decode_call(data, abi)
    decoded: list[DecodedArg] = []
    for name, kind, value in _flatten(fn.inputs, args):
        unit = units.get(name) if kind.startswith("uint") else None
        label = labels.get(value.lower()) if kind == "address" else None
        if type(value) in (list, tuple):  # an array: its view's value is a list, so each view gets its own
            decoded.append(_arg(name, kind, value, unit, label))
        else:
            decoded.append(_shared_arg(name, kind, value, unit, label))
    return Decoded(contract=contract, function=fn.signature, args=decoded)


def _arg(name: str, kind: str, value: Any, unit: tuple[str, int] | None, label: str | None) -> DecodedArg:
    """One argument's view: an amount in its token's units (`unit`), an address by its registry `label`."""
    if unit is not None:
        token, decimals = unit
        # decimals only beside a named token, as before: an empty symbol leaves them None (the plan bytes keep that)
        return DecodedArg(name=name, type=kind, value=_json_value(kind, value), token=token, decimals=decimals if token else None,
                          display=format_amount(int(value), decimals, token))
    if kind == "address":
        return DecodedArg(name=name, type=kind, value=value, display=f"{label} ({value})" if label else value)
    return DecodedArg(name=name, type=kind, value=_json_value(kind, value))


# A view is built for every step in compile, in review and in the recompile check, and most arguments repeat
# (the wallet, the tokens, the markets): a scalar argument's view is a frozen model of immutable values, a pure
# function of its inputs, so each distinct one is built once and shared (typed: True is not 1).
_shared_arg = lru_cache(maxsize=8192, typed=True)(_arg)


def units_of(step: Step) -> Units:
    return {arg.name: (arg.token, arg.decimals or 0) for arg in step.decoded.args if arg.token}


def verify(step: Step, labels: dict[str, str], abi: str | None = None, *, contract: str | None = None) -> Decoded:
    """Re-decode the step's bytes and refuse it if the stored view says anything else. The fresh view names the
    target `contract` (review's name with its registry label), else as the stored view does."""
    try:
        fresh = view(step.call.data, step.decoded.contract if contract is None else contract, units_of(step), labels, abi)
    except TamperedPlanError as exc:
        raise TamperedPlanError(exc.message, where=f"step {step.id}") from None
    where = f"step {step.id}"
    if fresh.function != step.decoded.function:
        raise TamperedPlanError(f"calldata is {fresh.function} but the view says {step.decoded.function}", where=where)
    stored = {a.name: a for a in step.decoded.args}
    for arg in fresh.args:
        old = stored.get(arg.name)
        if old is None or old.value != arg.value:
            shown = old.value if old else "(missing)"
            raise TamperedPlanError(f"argument {arg.name}: calldata says {arg.value} but the view says {shown}", where=where)
        if old.display is not None and arg.display is not None and old.display.split(" (")[0] != arg.display.split(" (")[0] and arg.token:
            raise TamperedPlanError(f"argument {arg.name}: calldata is {arg.display} but the view says {old.display}", where=where)
    if len(stored) != len(fresh.args):
        raise TamperedPlanError("the view lists arguments the calldata does not have", where=where)
    return fresh
