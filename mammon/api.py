"""The library API the CLI is a thin shell over: compile, load, validate, review.

    from mammon import Recommendation, compile_plan, load_plan, validate_plan
    plan = compile_plan(Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000"),
                        chain="base", wallet="0x…")
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mammon import clock
from mammon.chains import ChainConfig, load_chain_file
from mammon.plan.model import FORMAT_VERSION, Plan
from mammon.plan.planfile import dump as dump_plan
from mammon.plan.planfile import dumps as dumps_plan
from mammon.plan.planfile import load as load_plan
from mammon.review import Review, review

if TYPE_CHECKING:
    from mammon.compile.batching import SafeState
    from mammon.market import Market
    from mammon.recommend import Recommendation

__all__ = ["compile_plan", "dump_plan", "dumps_plan", "load_plan", "plan_schema", "validate_plan"]


def compile_plan(
    recommendations: Recommendation | Sequence[Recommendation],
    *,
    chain: str | ChainConfig = "base",
    wallet: str,
    market: Market | None = None,
    now: datetime | None = None,
    chain_configs: Sequence[str] = (),
    execution: str = "sequential",
    safe: SafeState | None = None,
) -> Plan:
    """Compile one recommendation, or several into one combined plan, into a sealed plan.

    `execution` batch or safe compiles one atomic transaction (`mammon.compile.batching`; safe needs the
    Safe's state in `safe`). The compiler (recipes, venues, Jinja2) is imported here, on first use:
    loading a plan does not need it (showing and validating one compile it again, in `validate_plan`).

    A `ChainConfig` passed as `chain` must not be changed afterwards, in place or in its nested sections: what is
    derived from it (its fingerprint, address labels, venue sections) is cached per config object. Load or build a new one.
    """
    from mammon.compile.compiler import compile_plan as compile_

    return compile_(recommendations, chain=chain, wallet=wallet, market=market, now=now, chain_configs=chain_configs,
                    execution=execution, safe=safe)


def validate_plan(path: str | Path, *, chain_config: str | Path | None = None, now: datetime | None = None,
                  recompile: bool = True) -> Review:
    """Load a plan, run every check review runs (hash, schema, DAG, calldata vs view and what it implies,
    expiry), and compile it again from its recorded inputs: it must be exactly what mammon compiles.

    `show` and `validate` both check this way: the units, names, descriptions, effects, totals and notes a
    review prints are the plan file's own text, which only the recompile vouches for. `recompile=False`
    skips it (no command does) and says so in a warning.
    """
    plan = load_plan(path)
    chain: ChainConfig | None = load_chain_file(chain_config) if chain_config else None
    rv = review(plan, chain=chain, now=now or clock.now(), where=str(path))
    if not recompile:
        rv.warnings.append("not compiled again from its recorded inputs: the descriptions, token units, effects, totals and notes "
                           "shown are the file's own claims (run `mammon validate`)")
        return rv
    from mammon.compile.recompile import check_recompiles

    check_recompiles(plan, rv.chain, where=str(path))
    rv.checks.append("compiled again from its own recorded inputs: identical")
    return rv


def plan_schema() -> dict[str, Any]:
    schema = Plan.model_json_schema(mode="serialization")
    major = FORMAT_VERSION.split(".")[0]
    schema["$id"] = f"https://mammon.invalid/schema/plan-{major}.json"
    schema["title"] = f"mammon plan (format {major}.x)"
    return schema


