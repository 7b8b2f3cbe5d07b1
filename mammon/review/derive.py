"""Derive, don't read: what a plan does, computed from its calldata and the chain registry.

Review, policy and apply decide on what the bytes imply, never on what the plan file claims:

- every call is one the compiler emits (`roles.rules()`: the approve and each venue's `calls`), sent to a registry contract in its role, with
  no ETH value, and every address argument is the wallet or a registry contract in its role;
- approvals are exact and go to the spender of the next step that pulls the token;
- the tokens each call pulls from the wallet (and the spend per token) come from the arguments;
- min-outs come from the arguments.

The plan's stored claims (`kind`, `pulls`, `allowances`, min-out `guards`, `totals.spend`) are then
checked against what was derived; a mismatch refuses the plan naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import NamedTuple

from mammon.chains import ChainConfig
from mammon.plan.decode import call_texts
from mammon.errors import TamperedPlanError
from mammon.plan.model import Decoded, Plan, Step
from mammon.review import roles
from mammon.units import format_amount


class Pulled(NamedTuple):
    """`spender` may take up to `bound` of `token` from the wallet in step `step` (`encoded` is in the calldata)."""

    step: str
    token: str
    spender: str
    encoded: int
    bound: int


@dataclass
class Derived:
    """What the calldata says the plan does, and the checks that were made (for `show`)."""

    pulls: list[Pulled] = field(default_factory=list)
    spend: dict[str, int] = field(default_factory=dict)  # chain token symbol -> most the wallet spends (base units)
    min_outs: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # step -> [(token address, min)]
    checks: list[str] = field(default_factory=list)


def _bound(step: Step, arg: str, encoded: int) -> int:
    """The most a runner may put in `arg`: the reference's upper bound when the argument is one."""
    for ref in step.refs:
        if ref.arg == arg:
            return ref.max
    return encoded


class _Deriver:
    def __init__(self, plan: Plan, cfg: ChainConfig | None, where: str, check: bool = True) -> None:
        self.plan, self.cfg, self.where, self.check = plan, cfg, where, check
        self.registry = roles.registry_roles(cfg) if cfg else {}
        self.symbols = {t.address.lower(): t.symbol for t in cfg.tokens} if cfg else {}
        self.wallet = plan.wallet.lower()
        self.out = Derived()
        self.addresses = 0
        self.pulls_of: dict[str, list[Pulled]] = {}  # step id -> what it pulls (in self.out.pulls' order), for `approvals`
        # A plan sends the same few calls to the same few contracts with the same few addresses in them: each
        # target ('to') or address argument ('arg') found in its role, and each argument's role, is worked out once per plan.
        self.in_role: set[tuple[str, tuple[str, ...] | str, str]] = set()
        self.roles: dict[tuple[str, str], str | None] = {}

    def refuse(self, step: Step, fld: str, message: str) -> TamperedPlanError:
        return TamperedPlanError(message, where=f"{self.where}: step {step.id}: {fld}")

    def labels(self, address: str) -> set[str]:
        return self.registry.get(address.lower(), set())

    def name(self, address: str) -> str:
        labels = sorted(self.labels(address))
        if address.lower() == self.wallet:
            return f"wallet ({address})"
        return f"{labels[0]} ({address})" if labels else f"{address} (not in the registry)"

    def token_label(self, address: str) -> str:
        return self.symbols.get(address.lower(), address)

    def call(self, step: Step, decoded: Decoded) -> roles.Rule:
        rule = roles.rule_for(decoded.function)
        if rule is None:
            raise self.refuse(step, "call.data", f"{decoded.function} is not a call mammon compiles; refusing the plan")
        if step.kind != rule.kind:
            raise self.refuse(step, "kind", f"the plan says {step.kind} but the calldata is {decoded.function} ({rule.kind})")
        if step.call.value != 0:
            raise self.refuse(step, "call.value", f"sends {step.call.value} wei of ETH; mammon never attaches ETH to a call")
        if self.cfg is not None and ("to", rule.targets, step.call.to) not in self.in_role:
            if not roles.matches(self.labels(step.call.to), rule.targets, self.cfg):
                raise self.refuse(step, "call.to", f"{decoded.function} goes to {self.name(step.call.to)}, which is not a registry contract "
                                                   f"in that role ({', '.join(rule.targets)})")
            self.in_role.add(("to", rule.targets, step.call.to))
        return rule

    def role_of(self, function: str, arg: str, rule: roles.Rule) -> str | None:
        """`roles.role_of` the argument, once per (function, argument) of the plan (the rule is the function's)."""
        key = (function, arg)
        if key not in self.roles:
            self.roles[key] = roles.role_of(arg, rule)
        return self.roles[key]

    def address_args(self, step: Step, decoded: Decoded, rule: roles.Rule) -> None:
        for arg in decoded.args:
            if not arg.type.startswith("address"):
                continue
            values = arg.value if isinstance(arg.value, list) else [arg.value]
            role = self.role_of(decoded.function, arg.name, rule)
            if role is None:
                raise self.refuse(step, arg.name, f"{decoded.function} has an address argument mammon never sets ({arg.value})")
            for value in values:
                self.addresses += 1
                value = str(value)
                if role == "wallet":
                    if value.lower() != self.wallet:
                        raise self.refuse(step, arg.name, f"is {self.name(value)}, not the plan's wallet {self.plan.wallet}: "
                                                          "mammon only sends funds and positions to the wallet")
                    continue
                if self.cfg is None or ("arg", role, value) in self.in_role:
                    continue
                if role == "token":
                    if not roles.is_chain_token(self.labels(value), self.cfg):
                        raise self.refuse(step, arg.name, f"is {self.name(value)}, not a token of the {self.cfg.name} registry")
                elif role == "spender":
                    if not self.labels(value) or roles.is_chain_token(self.labels(value), self.cfg):
                        raise self.refuse(step, arg.name, f"approves {self.name(value)}, which is not a contract of the {self.cfg.name} registry")
                elif not roles.matches(self.labels(value), role, self.cfg):
                    raise self.refuse(step, arg.name, f"is {self.name(value)}, not the registry's {role.replace(chr(92), '')}")
                self.in_role.add(("arg", role, value))

    def pulls(self, step: Step, args: Mapping[str, str], rule: roles.Rule) -> list[Pulled]:
        found: list[Pulled] = []
        if not rule.pulls and not step.pulls:  # most calls pull nothing, and their step says so
            return found
        for pull in rule.pulls:
            token: str | None
            if pull.token == "@underlying":
                token = roles.underlying(self.cfg, self.labels(step.call.to)) if self.cfg else None
            elif pull.token == "@lp":
                token = roles.lp_token(self.cfg, args["tokenA"], args["tokenB"]) if self.cfg else None
            else:
                token = args[pull.token]
            if token is None:  # without a registry the stored claim is all there is (review warns about it)
                token = next((p.token_address for p in step.pulls), "")
            encoded = int(args[pull.amount])
            found.append(Pulled(step.id, token, step.call.to, encoded, _bound(step, pull.amount, encoded)))
        if not self.check:
            return found
        stored = sorted((p.token_address.lower(), p.spender.lower(), p.amount) for p in step.pulls)
        derived = sorted((p.token.lower(), p.spender.lower(), p.bound) for p in found)
        if stored != derived:
            show = lambda items: ", ".join(f"{a} of {self.token_label(t)} by {s}" for t, s, a in items) or "nothing"  # noqa: E731
            raise self.refuse(step, "pulls", f"the plan states it pulls {show(stored)} but the calldata pulls {show(derived)}")
        return found

    def min_outs(self, step: Step, args: Mapping[str, str], rule: roles.Rule) -> None:
        derived: list[tuple[str, int]] = []
        if not rule.min_outs and not (step.guards and any(g.kind == "min_out" for g in step.guards)):  # no minimum, and none stated
            self.out.min_outs[step.id] = derived
            return
        for m in rule.min_outs:
            token = args[m.token] if m.token != "@last_route_to" else args[max((k for k in args if k.endswith("].to")), key=_route_index)]
            derived.append((token.lower(), int(args[m.amount])))
        stored = [(g.token or "", g.value) for g in step.guards if g.kind == "min_out"]
        by_symbol = sorted((self.token_label(t), v) for t, v in derived)
        if self.cfg is not None and sorted(stored) != by_symbol:
            raise self.refuse(step, "guards", f"the plan's min-out guards are {_pairs(stored)} but the calldata's minimums are {_pairs(by_symbol)}")
        bps = self.plan.policy.slippage_bps
        for token, value in derived:  # and a minimum that lets any price through is not one the compiler sets
            for name, out in step.outputs.items():
                if out.token_address.lower() == token and value * 10_000 < out.min * (10_000 - bps):
                    raise self.refuse(step, "guards", f"the calldata accepts {value} {out.token}, more than the plan's slippage "
                                                      f"({bps} bps) below the least it expects to receive ({out.min}, outputs.{name}.min)")
        self.out.min_outs[step.id] = derived

    def approvals(self, ordered: list[tuple[Step, Mapping[str, str]]]) -> int:
        """Every approval is exact and for the next step pulling that token through that spender."""
        count = 0
        for i, (step, args) in enumerate(ordered):
            if step.kind != "approve":
                if step.allowances:
                    raise self.refuse(step, "allowances", "only an approve step changes an allowance")
                continue
            count += 1
            spender, value, token = args["spender"], int(args["value"]), step.call.to
            if value == roles.UINT256_MAX:
                raise self.refuse(step, "value", f"approves {self.name(spender)} for an unlimited amount; mammon approves exact amounts only")
            bound = _bound(step, "value", value)
            nxt = next((p for later, _ in islice(ordered, i + 1, None) for p in self.pulls_of.get(later.id, ())
                        if p.token.lower() == token.lower() and p.spender.lower() == spender.lower()), None)
            if nxt is None:
                raise self.refuse(step, "spender", f"approves {self.name(spender)} to spend {self.token_label(token)}, "
                                                   "but no later step pulls it through that spender")
            if (value, bound) != (nxt.encoded, nxt.bound):
                raise self.refuse(step, "value", f"approves {value} (at most {bound}) but step {nxt.step} pulls {nxt.encoded} (at most {nxt.bound}): "
                                                 "an approval must be exactly what the next step spends")
            stored = [(a.owner.lower(), a.spender.lower(), a.token_address.lower(), a.after) for a in step.allowances]
            if stored != [(self.wallet, spender.lower(), token.lower(), bound)]:
                raise self.refuse(step, "allowances", f"the plan states {stored or 'no allowance change'} but the calldata sets "
                                                      f"{self.token_label(token)} allowance of {spender} to {bound}")
        return count

    def spend(self) -> None:
        tokens = {t.address.lower(): t for t in self.cfg.tokens} if self.cfg else {}
        for p in self.out.pulls:
            token = tokens.get(p.token.lower())
            if token is not None:
                self.out.spend[token.symbol] = self.out.spend.get(token.symbol, 0) + p.bound
        if self.cfg is None:  # no registry: at least the stored pulls of the stored tokens
            for s in self.plan.steps:
                for pull in s.pulls:
                    if pull.token in self.plan.totals.spend:
                        self.out.spend[pull.token] = self.out.spend.get(pull.token, 0) + pull.amount
        for symbol in sorted(set(self.out.spend) | set(self.plan.totals.spend)) if self.check else ():
            stated, derived = self.plan.totals.spend.get(symbol), self.out.spend.get(symbol, 0)
            if stated != derived:
                raise TamperedPlanError(f"the plan states {stated if stated is not None else '(nothing)'} but its calls pull at most {derived}",
                                        where=f"{self.where}: totals.spend.{symbol}")


def _route_index(name: str) -> int:
    return int(name.split("[", 1)[1].split("]", 1)[0])


def _pairs(items: list[tuple[str, int]]) -> str:
    return ", ".join(f"{v} {t}" for t, v in items) or "none"


def derive(plan: Plan, ordered: list[tuple[Step, Decoded]], cfg: ChainConfig | None, *, where: str = "plan") -> Derived:
    """Derive pulls, spend and min-outs from the calldata, enforce the address roles, and check the
    plan's stored claims against them; raises TamperedPlanError naming the first field that disagrees."""
    d = _Deriver(plan, cfg, where)
    functions: list[str] = []
    texts: list[tuple[Step, Mapping[str, str]]] = []
    for step, decoded in ordered:
        args = call_texts(step.call.data)[1]  # `decoded` is the view of these very bytes: its arguments as text
        texts.append((step, args))
        rule = d.call(step, decoded)
        d.address_args(step, decoded, rule)
        pulled = d.pulls(step, args, rule) if rule.pulls or step.pulls else None  # (most calls pull nothing, and say so)
        if pulled:
            d.out.pulls += pulled
            d.pulls_of.setdefault(step.id, []).extend(pulled)
        d.min_outs(step, args, rule)
        functions.append(decoded.function)
    approvals = d.approvals(texts)
    d.spend()
    decimals = {t.symbol: t.decimals for t in cfg.tokens} if cfg else {}
    spent = ", ".join(format_amount(v, decimals[k], k) if k in decimals else f"{v} {k}" for k, v in sorted(d.out.spend.items()))
    swaps = sum(1 for v in d.out.min_outs.values() if v)
    d.out.checks = [
        f"every call is one mammon compiles ({', '.join(dict.fromkeys(f.split('(')[0] for f in dict.fromkeys(functions)))}), "
        + (f"to a contract of the {cfg.name} registry, with no ETH value" if cfg else "with no ETH value"),
        # (without a registry no role was checked: review warns that the targets are unchecked, and claims nothing here)
        *([f"every address argument is the wallet or a registry contract in its role ({d.addresses} checked)"] if cfg else []),
        f"approvals are exact and for the next step's spender ({approvals} checked)",
        f"pulls and totals.spend match the calldata: " + (f"the wallet spends at most {spent}" if spent else "the wallet spends none of the chain's tokens"),
        f"min-out guards match the calldata ({swaps} step{'s' if swaps != 1 else ''} with a minimum)",
    ]
    return d.out


def spend_of(plan: Plan, cfg: ChainConfig | None) -> dict[str, int]:
    """The most the wallet spends per chain token, from the calldata alone (for policy): what the compiled
    calls pull, plus any ERC-20 `transfer` out of the wallet (which review refuses outright)."""
    d = _Deriver(plan, cfg, "plan", check=False)
    extra: dict[str, int] = {}
    for step in plan.steps:
        signature, args = call_texts(step.call.data)  # (memoised per bytes: what review decoded)
        rule = roles.rule_for(signature)
        if rule is not None:
            d.out.pulls += d.pulls(step, args, rule)
        elif signature.split("(", 1)[0] == "transfer" and step.call.to.lower() in d.symbols:
            symbol = d.symbols[step.call.to.lower()]
            extra[symbol] = extra.get(symbol, 0) + int(args.get("value", args.get("amount", 0)))
    d.spend()
    for symbol, value in extra.items():
        d.out.spend[symbol] = d.out.spend.get(symbol, 0) + value
    return d.out.spend
