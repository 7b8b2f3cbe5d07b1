"""mammon: compile DeFi rebalancing recommendations into plans a person can review, sign and apply.

Data flows one way, one package per stage:

    recommend (Recommendation) -> compile (compile_plan) -> plan (Plan, load_plan/dump_plan)
    -> review (review, render) -> run (apply_plan, runners) -> diff (diff_run)
"""

from mammon.api import compile_plan, dump_plan, dumps_plan, load_plan, plan_schema, validate_plan
from mammon.errors import MammonError
from mammon.market import Market, load_market
from mammon.plan.model import Plan, Step
from mammon.recommend import Recommendation, load_recommendations
from mammon.review import Review, review

__all__ = [
    "MammonError",
    "Market",
    "Plan",
    "Recommendation",
    "Review",
    "Step",
    "compile_plan",
    "dump_plan",
    "dumps_plan",
    "load_market",
    "load_plan",
    "load_recommendations",
    "plan_schema",
    "review",
    "validate_plan",
]
