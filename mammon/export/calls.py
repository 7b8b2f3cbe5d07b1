"""The plan as a list of plain calls for one atomic batch (what every export and batch runner sends)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mammon.errors import PlanError, TamperedPlanError
from mammon.plan.model import Decoded, Step
from mammon.review import Review


@dataclass(frozen=True)
class BatchCall:
    """One inner call of a batch, in execution order, with the view review built from its bytes."""

    step: Step
    decoded: Decoded

    @property
    def to(self) -> str:
        return self.step.call.to

    @property
    def value(self) -> int:
        return self.step.call.value

    @property
    def data(self) -> str:
        return self.step.call.data


def batch_calls(reviewed: Review, *, where: str = "plan") -> list[BatchCall]:
    """The reviewed plan's calls in execution order; refuses a call whose amount is only known on chain.

    A batch executes calldata fixed at signing: an argument bound to an earlier step's output can only be
    batched when that output is exact (its bounds are one value). A range would leave the batch sending the
    plan-time figure whatever the chain returns, so such a plan is refused naming the step.
    """
    calls = []
    for step, decoded in reviewed.steps:
        for ref in step.refs:
            if ref.min != ref.max:
                raise PlanError(
                    f"argument {ref.arg} = ${{{ref.ref}}} is only known on chain (between {ref.min} and {ref.max} base units); "
                    "a batch cannot resolve it: compile the plan with --execution batch or safe, which fixes it at plan time, "
                    "or apply the plan step by step",
                    where=f"{where}: step {step.id}",
                )
        calls.append(BatchCall(step, decoded))
    return calls


def check_calls(got: Any, expected: list[BatchCall], where: str, *, items: str, value_of: Callable[[Any], int],
                shown: Callable[[int], str], data_of: Callable[[Any], str],
                more: Callable[[Any, BatchCall, str], None] | None = None) -> None:
    """Refuse an export whose calls are not the plan's: the same number, then for each in order the same
    target, ETH value and calldata (`more` adds a format's own check of each call).

    The formats differ only in how they write a call: the list's name (`items`), how the value is read
    (`value_of`) and shown (`shown`), and where the calldata is (`data_of`).
    """
    if len(got) != len(expected):
        raise TamperedPlanError(f"{len(got)} {items}, the plan has {len(expected)} calls", where=where)
    for i, (item, call) in enumerate(zip(got, expected, strict=True)):
        at = f"{where}: {items}[{i}]"
        if str(item["to"]).lower() != call.to.lower():
            raise TamperedPlanError(f"to is {item['to']}, step {call.step.id} calls {call.to}", where=at)
        if value_of(item) != call.value:
            raise TamperedPlanError(f"value is {item.get('value')}, step {call.step.id} sends {shown(call.value)}", where=at)
        if data_of(item).lower() != call.data.lower():
            raise TamperedPlanError(f"data differs from step {call.step.id}'s calldata ({call.decoded.function})", where=at)
        if more is not None:
            more(item, call, at)


def only_keys(item: Any, allowed: Any, where: str, *, what: str) -> None:
    """Refuse a key mammon's export never writes: a wallet would read or act on it (a paymaster, a label) beside the plan's calls."""
    if not isinstance(item, dict):
        raise TamperedPlanError(f"{what} is not an object", where=where)
    extra = sorted(set(item) - set(allowed))
    if extra:
        raise TamperedPlanError(f"{what} has {', '.join(map(repr, extra))[:200]}, which mammon's export of this plan does not write", where=where)


def difference(got: Any, want: Any, path: str) -> tuple[str, Any, Any] | None:
    """The first place (a dotted path) where `got` is not `want`, with both values there; None when equal."""
    if isinstance(want, dict) and isinstance(got, dict):
        for key in [*want, *sorted(set(got) - set(want))]:
            found = difference(got.get(key), want.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for n, (g, w) in enumerate(zip(got, want, strict=True)):
            found = difference(g, w, f"{path}[{n}]")
            if found:
                return found
        return None
    return None if got == want and type(got) is type(want) else (path, got, want)


def shown_json(value: Any) -> str:
    """A JSON value for an error line, short."""
    import json

    text = json.dumps(value, ensure_ascii=False) if value is not None else "absent"
    return text if len(text) <= 120 else text[:117] + "..."
