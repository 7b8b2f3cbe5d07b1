"""The plan as a list of plain calls for one atomic batch (what every export and batch runner sends)."""

from __future__ import annotations

from dataclasses import dataclass

from mammon.errors import PlanError
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
