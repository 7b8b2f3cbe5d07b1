"""The human view of a call, built from its bytes: review trusts this, never a stored description.

`view()` decodes calldata with the ABIs and flattens arguments to dotted names
(`params.amountIn`, `routes[0].from`); `verify()` rebuilds the view of a stored step and
refuses the plan where the bytes and the stored view disagree. Compile, review and the recompile check
view every step of a plan: the decoded, flattened call is memoised per calldata (a pure function of the
bytes) and each scalar argument's view per value (frozen models of immutable values, shared).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from mammon.abi import called, decode_call, decoded_values
from mammon.errors import TamperedPlanError
from mammon.plan.model import Decoded, DecodedArg, Step
from mammon.units import format_amount

Units = dict[str, tuple[str, int]]  # arg path -> (token symbol, decimals)


def flatten(params: Sequence[dict[str, Any]], values: dict[str, Any], prefix: str = "") -> list[tuple[str, str, Any]]:
    """(dotted name, type, value) of each argument, tuples and arrays of tuples flattened (`params.amountIn`, `routes[0].from`)."""
    out: list[tuple[str, str, Any]] = []
    for param in params:
        name, kind, value = prefix + param["name"], param["type"], values[param["name"]]
        if kind == "tuple":
            out += flatten(param["components"], value, name + ".")
        elif kind == "tuple[]":
            for i, item in enumerate(value):
                out += flatten(param["components"], item, f"{name}[{i}].")
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
    signature, flat, _ = _flat_call(data, called(data, abi).abi_file)  # (keyed by the ABI file that matched: compile names it)
    decoded: list[DecodedArg] = []
    for name, kind, value, amount, address, array in flat:
        unit = units.get(name) if amount else None
        label = labels.get(value.lower()) if address else None
        if array:  # its view's value is a list, so each view gets its own
            decoded.append(_arg(name, kind, value, unit, label))
        else:
            decoded.append(arg_view(name, kind, value, unit, label))
    return Decoded(contract=contract, function=signature, args=decoded)


Flat = tuple[str, str, Any, bool, bool, bool]  # path, type, value, a uint?, an address?, an array?


@lru_cache(maxsize=4096)
def _flat_call(data: str, abi: str) -> tuple[str, tuple[Flat, ...], Mapping[str, str]]:
    """The signature calldata calls among `abi`'s functions, its arguments flattened to dotted paths (arrays as
    tuples: shared, never changed), and each argument's view as text (`call_texts`). A pure function of the bytes:
    compile, review and the recompile check each view every step, and review derives from the texts."""
    fn, values = decoded_values(data, abi)
    scalars = fn.scalar_inputs
    if scalars is None:
        args = decode_call(data, abi)[1]
        flat = tuple((name, kind, _frozen(value), kind.startswith("uint"), kind == "address", type(value) in (list, tuple))
                     for name, kind, value in flatten(fn.inputs, args))
        # (a scalar's view value is itself, or its decimal text: the same text; an array's is a list)
        texts = {name: str(_json_value(kind, value)) if array else str(value) for name, kind, value, _, _, array in flat}
        return fn.signature, flat, MappingProxyType(texts)
    # Only scalars (most calls): named and flattened, each value read in order is itself (no list to freeze).
    try:
        flat = tuple([(name, kind, read(value), kind.startswith("uint"), kind == "address", False)
                      for (name, kind, read), value in zip(scalars, values, strict=True)])
    except Exception as exc:  # (as `decode_call` words it; never for what the decoder returns)
        raise TamperedPlanError(f"calldata does not decode as {fn.signature}: {exc}") from None
    return fn.signature, flat, MappingProxyType({name: str(value) for name, _, value, _, _, _ in flat})


def call_texts(data: str, abi: str | None = None) -> tuple[str, Mapping[str, str]]:
    """The signature calldata calls and each argument of its view as text (`str(arg.value)`; values do not depend
    on units or labels). Memoised per bytes with the flattened call, shared and read-only: review derives from it,
    policy after review."""
    signature, _, texts = _flat_call(data, called(data, abi).abi_file)
    return signature, texts


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if type(value) in (list, tuple) else value


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
# function of its inputs, so each distinct one is built once and shared (typed: True is not 1). Compile builds its
# views with it too, from the arguments it encoded (their decoded form: an int, a bool, an EIP-55 address).
arg_view = lru_cache(maxsize=8192, typed=True)(_arg)


def units_of(step: Step) -> Units:
    return {arg.name: (arg.token, arg.decimals or 0) for arg in step.decoded.args if arg.token}


def verify(step: Step, labels: dict[str, str], abi: str | None = None, *, contract: str | None = None) -> Decoded:
    """Re-decode the step's bytes and refuse it if the stored view says anything else. The fresh view names the
    target `contract` (review's name with its registry label), else as the stored view does."""
    try:
        fresh = view(step.call.data, step.decoded.contract if contract is None else contract, units_of(step), labels, abi)
    except TamperedPlanError as exc:
        raise TamperedPlanError(exc.message, where=f"step {step.id}") from None
    if fresh.function != step.decoded.function:
        raise TamperedPlanError(f"calldata is {fresh.function} but the view says {step.decoded.function}", where=f"step {step.id}")
    stored = {a.name: a for a in step.decoded.args}
    for arg in fresh.args:
        old = stored.get(arg.name)
        if old is arg:  # the very view (views are shared): the same value and display
            continue
        if old is None or old.value != arg.value:
            shown = old.value if old else "(missing)"
            raise TamperedPlanError(f"argument {arg.name}: calldata says {arg.value} but the view says {shown}", where=f"step {step.id}")
        if (arg.token and old.display is not None and arg.display is not None and old.display != arg.display
                and old.display.split(" (")[0] != arg.display.split(" (")[0]):
            raise TamperedPlanError(f"argument {arg.name}: calldata is {arg.display} but the view says {old.display}", where=f"step {step.id}")
    if len(stored) != len(fresh.args):
        raise TamperedPlanError("the view lists arguments the calldata does not have", where=f"step {step.id}")
    return fresh
