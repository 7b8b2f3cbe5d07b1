"""Stage 2: a recommendation becomes a sealed plan.

recipe (Jinja2) -> abstract actions -> venue adapters -> drafts -> exact approvals inserted ->
typed steps with calldata, decoded view, gas, effects, guards -> preconditions, totals, hash.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol, TypeVar, runtime_checkable

from mammon.chains import ChainConfig, load_chain
from mammon.compile import inputs, recipes
from mammon.compile.batching import SafeState, attach
from mammon.compile.amounts import ALL, Amount
from mammon.abi import Function, function
from mammon.compile.gas import static_gas
from mammon.errors import InputError, PlanError
from mammon.market import Market, gas_cost_usd, load_market
from mammon.plan import dag
from mammon.plan.decode import arg_view, flatten, view
from mammon.plan.model import (
    AllowanceChange, ArgRef, Call, ChainRef, Decoded, DecodedArg, Effect, Gas, Plan, Policy, Precondition, Pull, Step, StepOutput, Tolerance, Totals,
)
from mammon.plan.model import Market as MarketInfo
from mammon.plan.planfile import seal
from mammon.files import parse_model
from mammon.protocols import resolve_venue, venue_class
from mammon.protocols.base import Asset, Context, Draft, Venue
from mammon.protocols.erc20 import approve
from mammon.recommend import Recommendation
from mammon.types import checksum_address, wallet_address
from mammon.units import format_amount, parse_amount

_REF = re.compile(r"^\$\{([A-Za-z0-9_\-]+)\.([A-Za-z0-9_]+)\}$")
_RATIO = re.compile(r"^(.*?)\s*\*\s*(\d+)\s*/\s*(\d+)$")


@dataclass
class _Build:
    """Mutable state while one plan is assembled."""

    ctx: Context
    labels: dict[str, str]
    prefix: str = ""
    steps: list[Step] = field(default_factory=list)
    outputs: dict[str, StepOutput] = field(default_factory=dict)
    preconditions: list[Precondition] = field(default_factory=list)
    wallet_needs: dict[str, tuple[Asset, int]] = field(default_factory=dict)
    last_pull: dict[tuple[str, str], str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    rates: set[tuple[str, str, str]] = field(default_factory=set)  # (contract, data, op) of the rate preconditions, as stated
    execution: str = "sequential"  # batch/safe: amounts from earlier steps are fixed at plan time (compile/batching.py)


def _amount(b: _Build, text: str, token: Asset, where: str) -> Amount:
    """Parse a recipe amount: literal, 'all', or `${step.output}` terms joined by '+', optionally `* n/d`."""
    num, den = 1, 1
    ratio = _RATIO.match(text)
    if ratio:
        text, num, den = ratio.group(1), int(ratio.group(2)), int(ratio.group(3))
    terms = [t.strip() for t in text.split(" + ")]
    if len(terms) == 1 and not terms[0].startswith("${"):
        if terms[0].lower() == "all":
            if ratio:
                raise InputError("'all' cannot be split; withdraw it first", where=where)
            return ALL
        literal = Amount.exact(parse_amount(terms[0], token.decimals, symbol=token.symbol, where=where))
        return literal if num == den == 1 else literal.scaled(num, den)
    parts: list[Amount] = []
    for term in terms:
        m = _REF.match(term)
        if not m:
            raise InputError(f"cannot read amount term {term!r} (expected a number, 'all' or ${{step.output}})", where=where)
        key = f"{b.prefix}{m.group(1)}.{m.group(2)}"
        if key not in b.outputs:
            raise InputError(f"amount refers to {term}, which no earlier step provides", where=where)
        out = b.outputs[key]
        if out.token != token.symbol:
            raise InputError(f"amount refers to {term}, which is {out.token}, not {token.symbol}", where=where)
        parts.append(Amount(out.expected, out.min, out.max, key))
    if len(parts) == 1:  # the usual `${step.output}`: its own bounds
        one = parts[0]
        total = Amount.of_outputs(key, one.expected, one.min, one.max)
    else:
        total = Amount.of_outputs(" + ".join(p.ref or "" for p in parts), sum(p.expected for p in parts), sum(p.min for p in parts), sum(p.max for p in parts))
    if num != 1 or den != 1:  # scaling by 1/1 gives the same amount
        total = total.scaled(num, den)
    if b.execution != "sequential":
        return _fixed(b, total, token, where)
    return total


#: An atomic batch fixes an earlier step's output at its plan-time lower bound; it refuses when the
#: range (the most that could stay behind in the wallet) is wider than the plan's slippage budget both
#: ways (a swap's own min-out..max range is exactly that; an ERC-4626 `all` withdrawal's interest range
#: or an LP exit's price range can be wider).
BATCH_RANGE_SLIPPAGES = 2


def _fixed(b: _Build, amount: Amount, token: Asset, where: str) -> Amount:
    """An amount a batch can encode: the reference's exact value, or its lower bound with the remainder stated."""
    assert amount.ref is not None
    action = where.removeprefix("recipe action ").split(":")[0]
    if amount.min != amount.max:
        spread = amount.max - amount.min
        limit = amount.expected * BATCH_RANGE_SLIPPAGES * b.ctx.slippage_bps // 10_000 + 2  # + rounding of the two bounds
        shown = lambda v: format_amount(v, token.decimals, token.symbol)  # noqa: E731
        if spread > limit:
            raise PlanError(
                f"refused for step {b.prefix}{action}: ${{{amount.ref}}} is only known within "
                f"{shown(amount.min)} .. {shown(amount.max)}, wider than {BATCH_RANGE_SLIPPAGES}x the slippage budget; "
                "a batch would have to fix it at the lower bound and leave up to " + shown(spread) + " behind: apply it sequentially",
                where=f"--execution {b.execution}")
        b.notes.append(f"batch: step {b.prefix}{action} uses {shown(amount.min)}, the lower bound of ${{{amount.ref}}} "
                       f"(expected {shown(amount.expected)}): up to {shown(spread)} of it stays in the wallet")
    return Amount(amount.min, amount.min, amount.min, after=amount.ref)


def _tolerance(flow_tol: Tolerance, amount: Amount) -> Tolerance:
    """A flow whose amount is only bounded widens an exact/wei tolerance to the bounds."""
    spread = max(amount.expected - amount.min, amount.max - amount.expected)
    if spread and flow_tol.kind in ("exact", "wei"):
        return Tolerance(kind="wei", value=flow_tol.value + spread, reason=flow_tol.reason)
    if spread and flow_tol.kind == "bps" and spread > abs(amount.expected) * flow_tol.value // 10_000 + 1:
        return Tolerance(kind="wei", value=spread, reason=flow_tol.reason)  # the bounds are wider than the bps allow
    return flow_tol


def _deps_of(amounts: Sequence[Amount]) -> list[str]:
    deps: list[str] = []
    for amount in amounts:
        for term in (amount.ref or amount.after or "").split(" + "):
            if term and term.rpartition(".")[0] not in deps:
                deps.append(term.rpartition(".")[0])
    return deps


def _step(b: _Build, step_id: str, venue: str, draft: Draft, depends_on: list[str], allowances: Sequence[AllowanceChange] = ()) -> Step:
    fn = function(draft.abi, draft.function)
    args = _call_args(draft)
    data = fn.encode(args)
    refs = [_arg_ref(path, a.ref, a.num, a.den, a.expected, a.min, a.max) for path, a in draft.arg_amounts.items() if a.ref]
    effects = [
        _effect(f.account, f.label, f.token.symbol, f.token.address, f.token.decimals, f.sign * f.amount.expected, _tolerance(f.tolerance, f.amount))
        for f in draft.flows
    ]
    wallet = b.ctx.wallet
    outputs = {
        name: _step_output(o.token.symbol, o.token.address, o.token.decimals, wallet, o.amount.expected, o.amount.min, o.amount.max)
        for name, o in draft.outputs.items()
    }
    for name, out in outputs.items():
        b.outputs[f"{step_id}.{name}"] = out
    gas_venue = "erc20" if draft.kind == "approve" else venue
    return Step(
        id=step_id, kind=draft.kind, venue=gas_venue, description=draft.description, depends_on=depends_on,
        call=_call(draft.target, data),
        decoded=_view(fn, args, data, draft, b.labels),
        gas=_static_gas_model(static_gas(gas_venue, draft.gas_action)),
        effects=effects,
        pulls=[_pull(s.token.symbol, s.token.address, s.spender, s.amount.max) for s in draft.spends],
        guards=draft.guards, outputs=outputs, refs=refs, allowances=list(allowances),
    )


# The parts of a step that are frozen models of immutable values (no list or dict inside) are made by these
# constructors, memoised per (typed) value: each is a pure function of its arguments (the model validates them
# the same way every time), so an equal part is shared, not built again. A plan compiled again (validate, apply)
# asks for every part it was built from, and a look-up costs a fraction of a model's validation. Errors are not
# memoised (lru_cache stores only results).
_PARTS = 4096


@lru_cache(maxsize=_PARTS, typed=True)
def _effect(account: str, label: str, token: str, token_address: str, decimals: int, delta: int, tolerance: Tolerance) -> Effect:
    return Effect(account=account, account_label=label, token=token, token_address=token_address, decimals=decimals, delta=delta, tolerance=tolerance)


@lru_cache(maxsize=_PARTS, typed=True)
def _step_output(token: str, token_address: str, decimals: int, account: str, expected: int, low: int, high: int) -> StepOutput:
    return StepOutput(token=token, token_address=token_address, decimals=decimals, account=account, expected=expected, min=low, max=high)


@lru_cache(maxsize=_PARTS, typed=True)
def _arg_ref(arg: str, ref: str, num: int, den: int, expected: int, low: int, high: int) -> ArgRef:
    return ArgRef(arg=arg, ref=ref, num=num, den=den, expected=expected, min=low, max=high)


@lru_cache(maxsize=_PARTS, typed=True)
def _call(to: str, data: str) -> Call:
    return Call(to=to, value=0, data=data)


@lru_cache(maxsize=_PARTS, typed=True)
def _allowance_change(owner: str, spender: str, spender_label: str, token: str, token_address: str, before: int | None, after: int) -> AllowanceChange:
    return AllowanceChange(owner=owner, spender=spender, spender_label=spender_label, token=token, token_address=token_address, before=before, after=after)


@lru_cache(maxsize=_PARTS, typed=True)
def _precondition(kind: str, description: str, contract: str, data: str | None, account: str | None, spender: str | None, token: str,
                  decimals: int, op: str, value: int) -> Precondition:
    """(`data`, `account` and `spender` None as when left out: only the fields set differ, which nothing reads.)"""
    return Precondition(kind=kind, description=description, contract=contract, data=data, account=account, spender=spender, token=token,
                        decimals=decimals, op=op, value=value)  # (kind and op: validated by the model as every other value)


@lru_cache(maxsize=_PARTS, typed=True)
def _pull(token: str, token_address: str, spender: str, amount: int) -> Pull:
    return Pull(token=token, token_address=token_address, spender=spender, amount=amount)


#: Every memo of step parts above (a fresh process starts with none: bench/recompile_check.py clears them for its cold figures).
PART_MEMOS = (_effect, _step_output, _arg_ref, _call, _allowance_change, _precondition, _pull)


@lru_cache(maxsize=256)
def _static_gas_model(estimate: int) -> Gas:
    """A static estimate as one (immutable) model shared by every step that has it. Keyed on the figure itself,
    looked up in STATIC_GAS on every call, so a changed table (a test patching it) is never served from the cache."""
    return Gas(estimate=estimate, source="static")


def _call_args(draft: Draft) -> dict[str, Any]:
    """The draft's arguments as encoded: a referenced argument carries exactly what the runner's rule gives on expected outputs."""
    args = draft.args
    for path, amount in draft.arg_amounts.items():
        if amount.ref:
            args = _replaced(args, path.split("."), amount.expected)
    return args


def _view(fn: Function, args: dict[str, Any], data: str, draft: Draft, labels: dict[str, str]) -> Decoded:
    """The view `decode.view` builds from `data`, built from the arguments `data` was just encoded from when each is of a
    type whose decoded value is known without decoding (an integer, a bool, an address: its EIP-55 form; tuples and
    lists of tuples of those); anything else is decoded. tests/test_compile_view.py compares the two on every example plan."""
    plain = fn.plain_params
    decoded = _plain_view(plain, args, draft.arg_tokens, labels) if plain is not None else None
    if decoded is None:
        units = {path: (asset.symbol, asset.decimals) for path, asset in draft.arg_tokens.items()}
        flat = _flat_args(fn.inputs, args)
        if flat is None:
            return view(data, draft.target_label, units, labels, draft.abi)
        decoded = [arg_view(name, kind, value, units.get(name) if kind.startswith("uint") else None,
                            labels.get(value.lower()) if kind == "address" else None) for name, kind, value in flat]
    return Decoded(contract=draft.target_label, function=fn.signature, args=decoded)


def _plain_view(params: Sequence[tuple[str, str, str]], args: dict[str, Any], tokens: Mapping[str, Asset], labels: dict[str, str]) -> list[DecodedArg] | None:
    """`_view`'s arguments for a function without tuple parameters (`Function.plain_params`): what `_flat_args` and the
    views of its items give, without flattening (each parameter is an argument), or None where `_flat_args` gives None."""
    out: list[DecodedArg] = []
    for name, kind, category in params:
        value = args[name]
        if category == "address" and type(value) is str:
            value = checksum_address(value)
            out.append(arg_view(name, kind, value, None, labels.get(value.lower())))
        elif category == "uint" and type(value) is int:
            asset = tokens.get(name)
            out.append(arg_view(name, kind, value, (asset.symbol, asset.decimals) if asset is not None else None, None))
        elif (category == "int" and type(value) is int) or (category == "bool" and type(value) is bool):
            out.append(arg_view(name, kind, value, None, None))
        else:
            return None
    return out


def _flat_args(params: Sequence[dict[str, Any]], values: dict[str, Any]) -> list[tuple[str, str, Any]] | None:
    """(dotted name, type, decoded value) of each argument, flattened as `decode.view` flattens them (`params.amountIn`,
    `routes[0].from`); None when one is of a type whose decoded value this does not know without decoding."""
    out: list[tuple[str, str, Any]] = []
    for name, kind, value in flatten(params, values):
        if kind == "address" and type(value) is str:
            out.append((name, kind, checksum_address(value)))
        elif (type(value) is int and kind.startswith(("uint", "int")) and not kind.endswith("]")) or (type(value) is bool and kind == "bool"):
            out.append((name, kind, value))
        else:
            return None
    return out


def _replaced(args: dict[str, Any], path: Sequence[str], value: int) -> dict[str, Any]:
    """`args` with the argument at `path` set to `value`: the dicts along the path are copied, the draft's own
    arguments stay as they are (what a deep copy guaranteed, without copying the arguments the path does not touch)."""
    head, *rest = path
    out = {**args}  # a mapping, as `args[head]` below needs (anything else fails here, as indexing it did)
    out[head] = _replaced(args[head], rest, value) if rest else value
    return out


def _current_allowance(ctx: Context, token: Asset, spender: str) -> int | None:
    portfolio = ctx.portfolio
    if portfolio is None:
        return None
    for allowance in portfolio.allowances:
        if allowance.token == token.symbol and allowance.spender.lower() == spender.lower():
            return parse_amount(allowance.amount, token.decimals, symbol=token.symbol, where="portfolio.allowances") if allowance.amount != "0" else 0
    return 0


def _add_action(b: _Build, action: recipes.Action, venues: dict[str, Venue]) -> None:
    where = f"recipe action {action.id}"
    if action.venue not in venues:
        venues[action.venue] = venue_class(action.venue, where=f"{where}: venue")(b.ctx)  # its state is the plan's (Context.states)
    venue = venues[action.venue]
    token = venue.token(action.token)
    amount = _amount(b, action.amount, token, f"{where}: amount")
    other = venue.token(action.to_token) if action.to_token else None
    if action.action == "withdraw":
        held = venue.position_value(token)
        if held == 0:
            raise InputError(f"the {venue.display} {token.symbol} position is empty", where="recommendation.from_protocol")
        if held is not None and not amount.is_all and amount.ref is None and held < amount.expected:
            raise InputError(f"the {venue.display} {token.symbol} position is {format_amount(held, token.decimals, token.symbol)}, "
                             f"less than the {format_amount(amount.expected, token.decimals, token.symbol)} to withdraw", where="recommendation.amount")
        draft = venue.withdraw(token, amount)
        if held is not None:  # a later withdrawal in the same plan sees what is left
            key = (venue.name, token.symbol)
            b.ctx.consumed[key] = b.ctx.consumed.get(key, 0) + (held if amount.is_all else amount.max)
    elif action.action == "deposit":
        draft = venue.deposit(token, _no_all(amount, where))
    elif action.action == "swap":
        draft = venue.swap(token, _need(other, where), _no_all(amount, where))
    elif action.action == "add_liquidity":
        partner = _need(other, where)
        amount_b = _amount(b, _need(action.amount_b, where), partner, f"{where}: amount_b")
        draft = venue.add_liquidity(token, partner, _no_all(amount, where), amount_b)
    else:
        draft = venue.remove_liquidity(token, _need(other, where), amount)
        for flow in draft.flows:  # the LP tokens it burns are gone for later steps
            if flow.sign < 0 and flow.account == b.ctx.wallet and flow.token.address == draft.spends[0].token.address:
                pair = "/".join(flow.token.symbol.removeprefix("vAMM-").split("/"))
                b.ctx.consumed[(venue.name, pair)] = b.ctx.consumed.get((venue.name, pair), 0) + flow.amount.expected
    step_id = b.prefix + action.id
    depends = [b.prefix + d for d in action.depends_on] + _deps_of(list(draft.arg_amounts.values()))
    for spend in draft.spends:
        key = (spend.token.address.lower(), spend.spender.lower())
        depends_here = _deps_of([spend.amount]) + ([b.last_pull[key]] if key in b.last_pull else [])
        current = _current_allowance(b.ctx, spend.token, spend.spender)
        # Only the chain's own tokens come from the wallet balance; position tokens (LP) have their own `requires`.
        if spend.amount.ref is None and spend.amount.after is None and spend.token.address.lower() in _token_addresses(b.ctx.chain):
            have, need = b.wallet_needs.get(spend.token.symbol, (spend.token, 0))
            b.wallet_needs[spend.token.symbol] = (spend.token, need + spend.amount.max)
        if current is not None and current >= spend.amount.max and key not in b.last_pull:
            b.preconditions.append(_precondition(
                "allowance", f"{spend.spender_label} may already spend {format_amount(spend.amount.max, spend.token.decimals, spend.token.symbol)} (approval left out)",
                spend.token.address, None, b.ctx.wallet, spend.spender, spend.token.symbol, spend.token.decimals, "gte", spend.amount.max))
        else:
            approve_id = f"{step_id}_approve" if len(draft.spends) == 1 else f"{step_id}_approve_{spend.token.symbol}"
            allowance = _allowance_change(b.ctx.wallet, spend.spender, spend.spender_label, spend.token.symbol, spend.token.address, current, spend.amount.max)
            b.steps.append(_step(b, approve_id, "erc20", approve(spend.token, spend.spender, spend.spender_label, spend.amount), depends_here, [allowance]))
            depends.append(approve_id)
        b.last_pull[key] = step_id
    for req in draft.requires:
        b.preconditions.append(_precondition("balance", req.description, req.token.address, None, req.account, None, req.token.symbol,
                                             req.token.decimals, "gte", req.amount))
    for rate in draft.rates:
        data = function(rate.abi, rate.function).encode(rate.args)
        if (rate.contract, data, rate.op) not in b.rates:  # the same view, bound and limit as an earlier step's: stated once
            check = _precondition("rate", rate.description, rate.contract, data, None, None, rate.unit, rate.decimals, rate.op, rate.value)
            b.rates.add((check.contract, check.data or "", check.op))
            b.preconditions.append(check)
    b.notes += [n for n in draft.notes if n not in b.notes]  # two steps on one vault say where its rate came from once
    b.steps.append(_step(b, step_id, venue.name, draft, list(dict.fromkeys(depends))))


def _no_all(amount: Amount, where: str) -> Amount:
    if amount.is_all:
        raise InputError("amount 'all' is only allowed when withdrawing from a venue (the wallet balance is not known)", where="recommendation.amount")
    return amount


T = TypeVar("T")


def _need(value: T | None, where: str) -> T:
    if value is None:
        raise InputError("this action needs to_token/amount_b", where=where)
    return value


def _check_recommendation(rec: Recommendation, chain: ChainConfig) -> Recommendation:
    """Resolve the names as people write them ("Aave V3", "usdc") to the registry's keys, and refuse unknown
    protocols and tokens and unusable amounts up front, naming the recommendation's field (a recipe would
    otherwise report them against its own internal action names). Returns the recommendation in keys."""
    names: dict[str, Any] = {}
    for name in ("from_protocol", "to_protocol", "swap_venue"):
        value = getattr(rec, name)
        if value is not None:
            names[name] = resolve_venue(value, where=f"recommendation.{name}")
    token = chain.token(rec.token, where="recommendation.token")
    names["token"] = token.symbol
    if rec.to_token is not None:
        names["to_token"] = chain.token(rec.to_token, where="recommendation.to_token").symbol
    if not rec.is_all:
        parse_amount(rec.amount, token.decimals, symbol=token.symbol, where="recommendation.amount")
    if all(getattr(rec, k) == v for k, v in names.items()):
        return rec
    # validated again: "Aave V3" -> "aave_v3" on both sides is still nothing to move
    return parse_model(Recommendation, {**rec.model_dump(), **names}, where="recommendation")


_REC_WHERE = re.compile(r"^recommendation(?=\.|$)")


def _recommendations(given: object) -> list[Recommendation]:
    """What the Rebalancer takes too: one recommendation (a Recommendation, a mapping or an object with its
    attributes) or a list of them, each checked by `Recommendation.of`; anything else is refused by name."""
    if isinstance(given, (str, bytes)) or given is None:
        raise InputError(f"expected a Recommendation, a mapping or a list of them, got {type(given).__name__}", where="recommendations")
    if isinstance(given, (list, tuple)):
        if not given:
            raise InputError("nothing to compile", where="recommendations")
        if len(given) == 1:
            return [Recommendation.of(given[0])]
        return [Recommendation.of(item, where=f"recommendation[{i}]") for i, item in enumerate(given)]
    return [Recommendation.of(given)]


def _aware(now: object) -> datetime:
    """The compile time: now (UTC) if None; a naive datetime is refused (the plan compares it with aware times)."""
    if now is None:
        return datetime.now(UTC)
    if not isinstance(now, datetime):
        raise InputError(f"expected a datetime, got {type(now).__name__}", where="now")
    if now.utcoffset() is None:
        raise InputError(f"{now.isoformat()} has no time zone (naive): pass datetime.now(timezone.utc) or an aware datetime", where="now")
    return now.astimezone(UTC)


def _in_item(exc: InputError, index: int) -> InputError:
    """Point an error about `recommendation.<field>` at the list item it came from: `recommendation[i].<field>`."""
    if exc.where and _REC_WHERE.match(exc.where):
        exc.where = _REC_WHERE.sub(f"recommendation[{index}]", exc.where)
        exc.args = (f"{exc.where}: {exc.message}",)
    return exc


@runtime_checkable
class _PairedPools(Protocol):
    """A venue of two-token pools (Aerodrome): the pool holding a token, with both its tokens."""

    def pool_with(self, token: Asset, other: Asset | None = None) -> tuple[object, Asset, Asset]: ...


def _partner_finder(ctx: Context) -> Callable[[str, str], str]:
    def pool_partner(venue: str, token: str) -> str:
        adapter = venue_class(venue)(ctx)
        if not isinstance(adapter, _PairedPools):
            raise InputError(f"{adapter.display} has no two-token pools to find a partner token in", where=f"recipe: pool_partner({venue!r})")
        entry, first, second = adapter.pool_with(adapter.token(token))
        return second.symbol if first.symbol == token else first.symbol
    return pool_partner


def _wallet_preconditions(b: _Build) -> None:
    portfolio = b.ctx.portfolio
    for symbol, (token, need) in b.wallet_needs.items():
        if portfolio is not None:
            held = portfolio.wallet.get(symbol, "0")
            have = parse_amount(held, token.decimals, symbol=symbol, where=f"portfolio.wallet.{symbol}", allow_zero=True)
            if have < need:
                raise InputError(f"the wallet holds {format_amount(have, token.decimals, symbol)} but the plan spends {format_amount(need, token.decimals, symbol)}",
                                 where="recommendation.amount")
        b.preconditions.insert(0, _precondition("balance", f"wallet holds at least the {symbol} it spends", token.address, None, b.ctx.wallet, None,
                                                symbol, token.decimals, "gte", need))


def _totals(steps: list[Step], gas_price_gwei: Decimal, prices_usd: Mapping[str, Decimal], symbols: Collection[str]) -> Totals:
    """Gas, its cost, and the wallet's spend of the tokens in `symbols` (the chain's own tokens)."""
    gas = sum(s.gas.estimate for s in steps)
    cost_eth = Decimal(gas) * gas_price_gwei / Decimal(10**9)
    spend: dict[str, int] = {}
    for step in steps:
        for pull in step.pulls:
            if pull.token in symbols:
                spend[pull.token] = spend.get(pull.token, 0) + pull.amount
    return Totals(gas=gas, cost_eth=cost_eth.quantize(Decimal("1e-12")), cost_usd=gas_cost_usd(cost_eth, prices_usd), spend=spend)


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
    sealed: bool = True,
) -> Plan:
    """Compile one recommendation, or several into one combined plan, into a sealed plan.

    `execution` batch or safe compiles one atomic transaction (see `mammon.compile.batching`); safe needs
    the Safe's state (`safe`, read with `batching.read_safe_state`). `sealed=False` leaves the content hash
    empty, for a plan only compared field by field (`recompile`): hashing a long plan costs as much as a tenth of compiling it.

    A `ChainConfig` passed as `chain` must not be changed afterwards, in place or in its nested sections: what is
    derived from it (its fingerprint, address labels, venue sections) is cached per config object. Load or build a new one.
    """
    if execution not in ("sequential", "batch", "safe"):
        raise InputError(f"unknown execution mode {execution!r}; use sequential, batch or safe", where="--execution")
    recs = _recommendations(recommendations)
    if not isinstance(chain, (str, ChainConfig)):
        raise InputError(f"expected a chain name (e.g. 'base') or a ChainConfig, got {type(chain).__name__}", where="chain")
    chain_cfg = chain if isinstance(chain, ChainConfig) else load_chain(chain, chain_configs)
    market = market or load_market()
    try:
        wallet = wallet_address(wallet)
    except ValueError as exc:
        raise InputError(str(exc), where="--wallet") from None
    now = _aware(now).replace(microsecond=0)
    valid_until = now + min(r.valid_for for r in recs)
    slippage = min(r.slippage_bps for r in recs)
    window = int((valid_until - now).total_seconds())
    ctx = Context(chain=chain_cfg, market=market, wallet=wallet, slippage_bps=slippage, deadline=int(valid_until.timestamp()), window=window)
    b = _Build(ctx=ctx, labels={**inputs.registry_labels(chain_cfg), wallet.lower(): "wallet"}, execution=execution)
    book: recipes.Book | None = None  # the recipes as this compile sees them, read at the first recommendation
    for n, rec in enumerate(recs, start=1):
        b.prefix = f"r{n}-" if len(recs) > 1 else ""
        rec_ctx = Context(chain=chain_cfg, market=market, wallet=wallet, slippage_bps=rec.slippage_bps, deadline=ctx.deadline,
                          consumed=ctx.consumed, window=window, states=ctx.states)
        b.ctx = rec_ctx
        try:
            rec = recs[n - 1] = _check_recommendation(rec, chain_cfg)
            book = book or recipes.book()
            _, actions = book.render(rec, {"pool_partner": _partner_finder(rec_ctx)})
            venues: dict[str, Venue] = {}
            for action in actions:
                _add_action(b, action, venues)
        except InputError as exc:
            raise _in_item(exc, n - 1) if len(recs) > 1 else exc
    b.ctx = ctx
    _wallet_preconditions(b)
    plan = Plan(
        chain=ChainRef(id=chain_cfg.chain_id, name=chain_cfg.name), wallet=wallet, created_at=now, valid_until=valid_until,
        recommendations=recs, policy=Policy(slippage_bps=slippage),
        market=MarketInfo(source=market.source, gas_price_gwei=market.gas_price_gwei, prices_usd=market.prices_usd),
        preconditions=b.preconditions, steps=b.steps, totals=_totals(b.steps, market.gas_price_gwei, market.prices_usd, {t.symbol for t in chain_cfg.tokens}), notes=b.notes,
        inputs=inputs.record(chain_cfg, market, wallet),
    )
    plan = Plan(**{**plan.__dict__, "steps": dag.order(plan)})
    problems = dag.problems(plan)
    if problems:
        raise InputError("compiled plan is invalid (a recipe bug): " + "; ".join(problems), where="compile")
    if execution != "sequential":
        _refuse_unenforceable(plan, execution)
        return attach(plan, execution, chain_cfg, safe, sealed=sealed)
    return seal(plan) if sealed else plan


#: The chain's own tokens' addresses (lower case), once per chain config.
_token_addresses = inputs.per_config(lambda chain: frozenset(t.address.lower() for t in chain.tokens))


def _refuse_unenforceable(plan: Plan, execution: str) -> None:
    """A guard the chain cannot enforce inside a batch (an error code returned, not a revert) refuses the mode, naming the step."""
    for step in plan.steps:
        for guard in step.guards:
            if guard.kind == "return_code":
                raise PlanError(
                    f"refused for step {step.id}: {step.venue} reports a failed {step.kind} as an error code "
                    f"instead of reverting ({guard.description}); inside one transaction nothing would stop the steps after it: "
                    "apply this plan sequentially", where=f"--execution {execution}")
