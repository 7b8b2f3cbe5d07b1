"""mammon: compile DeFi rebalancing recommendations into plans a person can review, sign and apply.

Data flows one way, one package per stage:

    recommend (Recommendation) -> compile (compile_plan) -> plan (Plan, load_plan/dump_plan)
    -> review (review, render) -> run (apply_plan, runners) -> diff (diff_run)

`Rebalancer` runs all of it for one recommendation (compile, save the plan file, review, apply, diff).

The names below are imported on first use (PEP 562 module `__getattr__`), so `import mammon.cli` and
`mammon --help` do not pay for pydantic models, ABIs and the compiler.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mammon.api import compile_plan, dump_plan, dumps_plan, load_plan, plan_schema, validate_plan
    from mammon.errors import MammonError
    from mammon.market import Market, load_market
    from mammon.plan.model import Plan, Step
    from mammon.rebalance import RebalanceResult, Rebalancer
    from mammon.recommend import Recommendation, load_recommendations
    from mammon.review import Review, review

# public name -> the module that defines it
_EXPORTS = {
    "MammonError": "mammon.errors",
    "Market": "mammon.market",
    "Plan": "mammon.plan.model",
    "RebalanceResult": "mammon.rebalance",
    "Rebalancer": "mammon.rebalance",
    "Recommendation": "mammon.recommend",
    "Review": "mammon.review",
    "Step": "mammon.plan.model",
    "compile_plan": "mammon.api",
    "dump_plan": "mammon.api",
    "dumps_plan": "mammon.api",
    "load_market": "mammon.market",
    "load_plan": "mammon.api",
    "load_recommendations": "mammon.recommend",
    "plan_schema": "mammon.api",
    "review": "mammon.review",
    "validate_plan": "mammon.api",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mammon' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """Keeps `mammon.review` the function: importing the subpackage `mammon.review` (say, via
    `mammon.review.render`) would otherwise bind the attribute to the module and hide it."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "review" and isinstance(value, types.ModuleType):
            value = value.review
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
