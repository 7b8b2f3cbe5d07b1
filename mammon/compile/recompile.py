"""A plan is what mammon compiles: compile it again from its own recorded inputs and compare.

`validate` and `apply` call `check_recompiles`: the recommendations, wallet and creation time in the
plan, the market snapshot and node-measured gas in `plan.inputs`, and the chain config (whose
fingerprint the plan records) must give exactly the plan, field for field. Any difference refuses
the plan, naming the first field that differs. A plan is then either mammon's own output for the
recommendations it shows, or refused.
"""

from __future__ import annotations

from operator import is_
from typing import TYPE_CHECKING, Any

from mammon.chains import ChainConfig, chain_for_plan
from mammon.compile.inputs import chain_fingerprint, compiler_version
from mammon.errors import InputError, PlanError, TamperedPlanError, UnknownNameError
from mammon.plan.model import Decoded, Plan, Step

if TYPE_CHECKING:
    from mammon.compile.batching import SafeState

_SKIP = {"content_hash", "format_version"}  # the seal, and the format minor the file was written in


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 66 else text[:40] + "…" + text[-12:]


def first_difference(stored: Any, fresh: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first path (in field order) where two JSON values differ, with both values."""
    if isinstance(stored, dict) and isinstance(fresh, dict):
        for key in list(stored) + [k for k in fresh if k not in stored]:
            if path == "" and key in _SKIP:
                continue
            found = first_difference(stored.get(key, "(missing)"), fresh.get(key, "(missing)"), f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    if isinstance(stored, list) and isinstance(fresh, list):
        for i in range(max(len(stored), len(fresh))):
            found = first_difference(stored[i] if i < len(stored) else "(missing)", fresh[i] if i < len(fresh) else "(missing)", f"{path}[{i}]")
            if found:
                return found
        return None
    return None if stored == fresh else (path, stored, fresh)


def _chain(plan: Plan, chain: ChainConfig | None, where: str) -> ChainConfig:
    if chain is not None:
        return chain
    try:
        return chain_for_plan(plan.chain.id, plan.chain.name, where=where)
    except UnknownNameError:  # (a chain file that cannot be read is named by its own error, which goes up as it is)
        raise PlanError(f"chain {plan.chain.name} is not in the registry, so the plan cannot be compiled again to check it: "
                        "pass the --chain-config it was compiled with", where=f"{where}: inputs.chain_config") from None


def _safe_state(plan: Plan) -> SafeState | None:
    """A Safe plan's pinned nonce, owners and threshold: the compile read them from the node, the plan keeps them."""
    from mammon.compile.batching import SafeState

    tx = plan.batch.safe if plan.batch is not None else None
    return SafeState(nonce=tx.nonce, owners=list(tx.owners), threshold=tx.threshold) if tx is not None else None


def recompile(plan: Plan, chain: ChainConfig | None = None, *, where: str = "plan", sealed: bool = True) -> Plan:
    """The plan compiled again from its own inputs (refuses a plan that records none); `sealed=False` leaves its
    content hash empty (`check_recompiles` compares every other field, so it does not hash the plan)."""
    from mammon.compile.compiler import compile_plan
    from mammon.compile.node_gas import with_node_gas

    if plan.inputs is None:
        raise PlanError(f"missing: a format {plan.format_version} plan does not record its compile inputs, so it cannot be checked "
                        "by compiling it again; compile it again with this mammon", where=f"{where}: inputs")
    cfg = _chain(plan, chain, where)
    actual = chain_fingerprint(cfg)
    if actual != plan.inputs.chain_config:
        raise PlanError(f"the plan was compiled against chain config {_short(plan.inputs.chain_config)}, but the {cfg.name} config here is "
                        f"{_short(actual)}: pass the --chain-config it was compiled with", where=f"{where}: inputs.chain_config")
    try:
        fresh = compile_plan(plan.recommendations, chain=cfg, wallet=plan.wallet, market=plan.inputs.market, now=plan.created_at,
                             execution=plan.execution or "sequential", safe=_safe_state(plan), sealed=sealed)
    except InputError as exc:
        raise TamperedPlanError(f"compiling the plan again from its own inputs fails: {exc}", where=f"{where}: inputs") from None
    if plan.inputs.node_gas is not None:
        fresh = with_node_gas(fresh, plan.inputs.node_gas, sealed=sealed)
    return fresh


#: Models a compile builds anew every time (they hold lists or dicts): `_same` compares them field by field. Every other
#: model in a step is a frozen part the compile shares (memoised per value), compared by identity.
_REBUILT: frozenset[type] = frozenset({Step, Decoded})
_SCALARS: frozenset[type] = frozenset({str, int, bool, type(None)})


def _same(stored: Any, fresh: Any) -> bool:
    """True only when both certainly dump to the same JSON: the same object, or values of the very same type that
    serialise alike (str, int, bool, None equal; lists and dicts of such, dict keys in the same order; models of
    `_REBUILT`, field by field). False means "not shown the same" (a part built apart, a Decimal...), not "different"."""
    kind = type(stored)
    if kind is not type(fresh):
        return False
    if kind is list:
        if len(stored) != len(fresh):
            return False
        pairs: Any = zip(stored, fresh)
    else:
        if kind in _REBUILT:
            if stored.__pydantic_extra__ is not None or fresh.__pydantic_extra__ is not None:
                return False
            stored, fresh = stored.__dict__, fresh.__dict__  # the fields (names: str), in the model's order
        elif kind is not dict:
            return stored is fresh or (kind in _SCALARS and bool(stored == fresh))
        elif not all(type(k) is str for k in stored) or not all(type(k) is str for k in fresh):
            return False
        if list(stored) != list(fresh):  # (str keys equal: the same keys in the same order)
            return False
        pairs = zip(stored.values(), fresh.values())
    for a, b in pairs:  # the usual values inline (a call per value would cost more than comparing them):
        if a is b:
            continue
        kind = type(a)
        if kind in _SCALARS:
            if kind is not type(b) or a != b:
                return False
        elif kind is list and type(b) is list and len(a) == len(b) and all(map(is_, a, b)):
            continue  # (a list of the same shared parts)
        elif not _same(a, b):
            return False
    return True


def check_recompiles(plan: Plan, chain: ChainConfig | None = None, *, where: str = "plan") -> None:
    """Refuse the plan unless compiling it again from its recorded inputs gives exactly the plan."""
    fresh = recompile(plan, chain, where=where, sealed=False)
    # Steps that `_same` shows equal need not be written out (most of a plan's JSON; when `plan` was compiled in this
    # process, an apply right after its compile, its steps share their frozen parts with the compile's again): the
    # rest of the two plans is compared as text.
    if _same(plan.steps, fresh.steps):
        rest = _SKIP | {"steps"}
        if plan.model_dump_json(exclude=rest, exclude_none=True) == fresh.model_dump_json(exclude=rest, exclude_none=True):
            return
    # The usual case first: both plans written as JSON text by pydantic (in Rust, no Python objects per field)
    # and compared as bytes. Equal text means equal JSON-mode dumps: the only values two dumps could differ in
    # and still print alike are non-finite floats (written `null`), and a compile writes no floats. Any other
    # difference (even dict keys in another order) goes on to the dumps below, which decide and name it.
    if plan.model_dump_json(exclude=_SKIP, exclude_none=True) == fresh.model_dump_json(exclude=_SKIP, exclude_none=True):
        return
    stored_body = plan.model_dump(mode="json", exclude=_SKIP, exclude_none=True)
    fresh_body = fresh.model_dump(mode="json", exclude=_SKIP, exclude_none=True)
    if stored_body == fresh_body:  # equal values in another key order: compared in C; the walk below only names a difference
        return
    found = first_difference(stored_body, fresh_body)
    if found is None:
        return
    path, stored, compiled = found
    by = plan.inputs.compiler if plan.inputs else "?"
    other = f" (it was compiled by {by}, this is {compiler_version()})" if by != compiler_version() else ""
    raise TamperedPlanError(f"the file says {_short(stored)} but compiling the plan's own inputs gives {_short(compiled)}: "
                            f"the plan is not what mammon compiles{other}", where=f"{where}: {path}")
