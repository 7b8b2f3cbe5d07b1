"""Renderers of a reviewed plan: text (a terminal table), JSON (for tools), Markdown (for PRs and chats)."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

from mammon.chains import BUILTIN_IDS, CHAIN_CONFIG_ENV, DATA, SETTINGS_FILE, ChainConfig, devnet_config_path, user_chain_files
from mammon.errors import MammonError
from mammon.plan.model import Decoded, Effect, Step, Tolerance
from mammon.protocols import venue_display
from mammon.review import Review, short, usd
from mammon.safetext import printable
from mammon.units import format_amount


def _amounts(decoded: Decoded) -> str:
    return "; ".join(f"{a.name} {a.display}" for a in decoded.args if a.token)


def _tolerance(t: Tolerance, decimals: int, token: str) -> str:
    if t.kind == "exact":
        return "exact"
    if t.kind == "wei":
        small = t.value < 10**max(decimals - 4, 1) and not t.reason  # a stated reason reads better in token units
        return f"±{t.value} wei" if small else f"±{format_amount(t.value, decimals, token)}"
    if t.kind == "bps":
        return f"±{t.value} bps"
    return f"at least {format_amount(t.value, decimals, token)}"


def _effect(e: Effect) -> str:
    sign = "+" if e.delta >= 0 else "-"
    why = f": {e.tolerance.reason}" if e.tolerance.reason else ""
    return f"{sign} {format_amount(abs(e.delta), e.decimals, e.token)} {e.account_label} ({_tolerance(e.tolerance, e.decimals, e.token)}{why})"


def _refs(step: Step) -> list[str]:
    lines = []
    for r in step.refs:
        decimals = next((a.decimals for a in step.decoded.args if a.name == r.arg), None) or 0
        token = next((a.token for a in step.decoded.args if a.name == r.arg), "") or ""
        share = f" × {r.num}/{r.den}" if (r.num, r.den) != (1, 1) else ""
        lines.append(f"{r.arg} = ${{{r.ref}}}{share}: expected {format_amount(r.expected, decimals, token)}, "
                     f"at least {format_amount(r.min, decimals)}, at most {format_amount(r.max, decimals)} {token}")
    return lines


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError):
        return False


def _origin(source: str) -> str:
    """How a user chain file came to be used: the environment, ./mammon.toml, the devnet, or --chain-config."""
    try:
        given = any(_same_file(source, f) for f in user_chain_files())
    except MammonError:  # a broken mammon.toml the review never read (the chain came from --chain-config)
        given = False
    if given:
        return f"from {CHAIN_CONFIG_ENV}" if os.environ.get(CHAIN_CONFIG_ENV) else f"from ./{SETTINGS_FILE}"
    if _same_file(source, devnet_config_path()):
        return "the devnet's file"
    return "from --chain-config"


def registry(chain: ChainConfig | None) -> tuple[str, str | None]:
    """Which chain registry file review checked the plan against, and a warning when a file the command line did
    not name stands in for one mammon ships (a mammon.toml in the working directory or MAMMON_CHAIN_CONFIG)."""
    if chain is None:
        return "none: targets, tokens and roles were not checked", None
    shipped = DATA / f"{BUILTIN_IDS.get(str(chain.chain_id), '')}.yaml"
    source = chain._source
    if source is None:
        return f"{chain.name} (a chain config built in Python, not read from a file)", None
    if _same_file(source, shipped):
        return f"built-in {chain.name} (mammon/chains/data/{shipped.name})", None
    origin = _origin(source)
    if not shipped.is_file():
        return f"{source} ({origin})", None
    line = f"{source} ({origin}), in place of the built-in {shipped.stem}"
    if origin == "from --chain-config":  # asked for on this very command line: named, not warned about
        return line, None
    return line, f"the registry is {source} ({origin}), not mammon's built-in {shipped.stem}: every registry check used that file"


def _warnings(rv: Review) -> list[str]:
    extra = registry(rv.chain)[1]
    return [*rv.warnings, *([extra] if extra else [])]


def _header(rv: Review) -> list[str]:
    p = rv.plan
    left = int((p.valid_until - rv.now).total_seconds())
    recs = []
    for r in p.recommendations:
        apy = f" · expected APY {r.expected_apy:f}%" if r.expected_apy is not None else ""
        swap = f" as {r.to_token}" if r.to_token else ""
        source = venue_display(r.from_protocol) if r.from_protocol else "wallet"
        target = venue_display(r.to_protocol) if r.to_protocol else "wallet"
        recs.append(f"{source} -> {target}: {r.amount} {r.token}{swap} · confidence {r.confidence}{apy}"
                    + (f' · "{r.reason}"' if r.reason else ""))
    return [
        f"plan      {p.content_hash}  (format {p.format_version})",
        f"chain     {p.chain.name} ({p.chain.id})",
        f"registry  {registry(rv.chain)[0]}",
        f"wallet    {p.wallet}",
        f"created   {p.created_at:%Y-%m-%d %H:%M:%S} UTC",
        f"valid     until {p.valid_until:%Y-%m-%d %H:%M:%S} UTC ({'expired' if left <= 0 else f'{left // 60} min {left % 60} s left'})",
        *[f"moves     {r}" for r in recs],
    ]


def _totals(rv: Review) -> str:
    t, m = rv.plan.totals, rv.plan.market
    decimals = {e.token: e.decimals for s in rv.plan.steps for e in s.effects}
    spends = ", ".join(format_amount(v, decimals.get(k, 0), k) for k, v in (rv.spend or t.spend).items())
    pulled = f" · contracts may pull at most {spends}" if spends else ""
    return f"gas {t.gas:,} · {t.cost_eth.normalize():f} ETH ({usd(t.cost_usd)}) at {m.gas_price_gwei} gwei{pulled}"


def text(rv: Review, width: int = 200) -> str:
    """The terminal review. Every line goes through `printable`: nothing in the plan can add a line or an escape."""
    from rich import box  # only the terminal table needs rich (about 20 ms of imports): JSON and Markdown do not
    from rich.console import Console
    from rich.table import Table

    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False, highlight=False, emoji=False, markup=False)

    def say(line: str) -> None:  # a whole line, never wrapped: what console.print(soft_wrap=True) writes, without its cost
        out.write(printable(line) + "\n")

    for line in _header(rv):
        say(line)
    table = Table(box=box.SIMPLE_HEAD, title="Steps, in execution order", title_justify="left", pad_edge=False)
    for col in ("#", "step", "venue", "call", "amounts", "target", "gas", "after"):
        table.add_column(col, justify="right" if col in ("#", "gas") else "left", overflow="fold", no_wrap=col in ("#", "step", "call", "gas"))
    for n, (step, decoded) in enumerate(rv.steps, start=1):
        cells = (str(n), step.id, venue_display(step.venue), decoded.function.split("(")[0], _amounts(decoded),
                 f"{decoded.contract.split(' [')[0]} {short(step.call.to)}", f"{step.gas.estimate:,} {step.gas.source}", ", ".join(step.depends_on) or "-")
        table.add_row(*(printable(c) for c in cells))
    console.print(table)
    for n, (step, decoded) in enumerate(rv.steps, start=1):
        say(f"{n}. {step.id}: {step.description}")
        say(f"   call    {decoded.contract} {step.call.to} {decoded.function}")
        for arg in decoded.args:
            say(f"           {arg.name} = {arg.display or arg.value}")
        say(f"   sends   {format_amount(step.call.value, 18, 'ETH')} with the call (its `value`)")
        for line in _refs(step):
            say(f"   uses    {line}")
        for effect in step.effects:
            say(f"   effect  {_effect(effect)}")
        for a in step.allowances:
            before = format_amount(a.before, next((x.decimals or 0 for x in decoded.args if x.token), 0)) if a.before is not None else "unknown"
            say(f"   allow   {a.spender_label} may spend {a.token}: {before} -> {_arg_display(decoded, 'value')}")
        for g in step.guards:
            say(f"   guard   {g.description}")
        for name, o in step.outputs.items():
            say(f"   output  {name}: expected {format_amount(o.expected, o.decimals, o.token)} "
                f"(at least {format_amount(o.min, o.decimals)}, at most {format_amount(o.max, o.decimals)})")
    say("Preconditions (checked again before apply)")
    for pre in rv.plan.preconditions:
        op = {"gte": ">=", "eq": "==", "lte": "<="}[pre.op]
        say(f"   {pre.kind:<9} {pre.token} {op} {format_amount(pre.value, pre.decimals, pre.token)}: {pre.description}")
    say("Checks (derived from the calldata and the chain registry, not from the plan's own claims)")
    for check in rv.checks:
        say(f"   ok  {check}")
    say(f"Totals    {_totals(rv)}")
    for line in _batch_lines(rv):
        say(line)
    for note in rv.plan.notes:
        say(f"Note      {note}")
    warnings = _warnings(rv)
    if warnings:
        for w in warnings:
            say(f"WARNING   {w}")
    else:
        say("Warnings  none")
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"


def _batch_lines(rv: Review) -> list[str]:
    """An atomic plan: the one transaction that carries the steps above (decoded and compared by review)."""
    b = rv.plan.batch
    if b is None:
        return []
    n = len(rv.steps)
    if b.mode == "batch":
        lines = [f"Execution batch: ONE type-4 transaction {rv.plan.wallet} -> itself, executeBatch of the {n} calls above "
                 f"(decoded from its bytes, same order); the wallet's code is delegated (EIP-7702) to Simple7702Account {b.delegate} "
                 "(authorization signed at apply only if not already delegated there); all or nothing"]
    else:
        assert b.safe is not None
        t = b.safe
        lines = [f"Execution safe: ONE execTransaction of Safe {t.safe} (nonce {t.nonce}, {t.threshold} of {len(t.owners)} owners: "
                 f"{', '.join(t.owners)}) DELEGATECALLing MultiSendCallOnly {t.to} with the {n} calls above (decoded from its bytes, same order); "
                 "all or nothing",
                 f"safeTxHash {t.safe_tx_hash} (EIP-712, what each owner signs with `mammon safe sign`)",
                 f"Refund    safeTxGas {t.safe_tx_gas} · baseGas {t.base_gas} · gasPrice {t.gas_price} · gasToken {t.gas_token} · "
                 f"refundReceiver {t.refund_receiver} (checked: all zero, the Safe pays no refund)"]
    lines.append(f"Gas       for the one transaction {b.gas.estimate:,} ({b.gas.source})")
    lines += [f"Fixed     {left}" for left in b.left_behind] or ["Fixed     every amount is exact at plan time: nothing stays behind"]
    return lines


def _arg_display(decoded: Decoded, name: str) -> str:
    return next((str(a.display or a.value) for a in decoded.args if a.name == name), "?")


def as_dict(rv: Review) -> dict[str, Any]:
    p = rv.plan
    return {
        "content_hash": p.content_hash,
        "chain": p.chain.model_dump(),
        "registry": registry(rv.chain)[0],
        "wallet": p.wallet,
        "valid_until": p.valid_until.isoformat(),
        "steps": [
            {"n": n, "id": s.id, "kind": s.kind, "venue": s.venue, "depends_on": s.depends_on,
             "to": s.call.to, "value": str(s.call.value), "data": s.call.data, "decoded": d.model_dump(mode="json", exclude_none=True),
             "gas": s.gas.model_dump(), "effects": [_effect(e) for e in s.effects], "uses": _refs(s)}
            for n, (s, d) in enumerate(rv.steps, start=1)
        ],
        "preconditions": [pre.model_dump(mode="json", exclude_none=True) for pre in p.preconditions],
        "totals": p.totals.model_dump(mode="json"),
        "checks": [{"check": c, "result": "ok"} for c in rv.checks],
        "notes": p.notes,
        "warnings": _warnings(rv),
        **({"execution": p.execution, "batch": p.batch.model_dump(mode="json", exclude_none=True)} if p.batch else {}),
    }


def as_json(rv: Review) -> str:
    return json.dumps(as_dict(rv), indent=2, ensure_ascii=False) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~!#])")


def _md(text: object) -> str:
    """Plan text as literal Markdown: controls escaped (`printable`), then every character Markdown or HTML could
    read as markup backslash-escaped, so a `reason` cannot add a link, an image, a tag, emphasis or a table cell."""
    return _MD_SPECIAL.sub(r"\\\1", printable(str(text)))


def _code(text: object, *, cell: bool = False) -> str:
    """Plan text as an inline code span (nothing inside is markup): fenced by more backticks than it holds; in a
    table cell `|` is escaped as GFM requires even inside code."""
    body = printable(str(text))
    fence = "`" * (max((len(run) for run in re.findall("`+", body)), default=0) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    if cell:
        body = body.replace("|", "\\|")
    return f"{fence}{pad}{body}{pad}{fence}"


def markdown(rv: Review) -> str:
    """The review for a PR or chat: every piece of plan text escaped (`_md`, `_code`), the layout mammon's own."""
    lines = [f"### mammon plan {_code(rv.plan.content_hash[:19] + '…')}", ""]
    lines += [f"- {line.split(maxsplit=1)[0]}: {_md(line.split(maxsplit=1)[1])}" for line in _header(rv)[1:]]
    lines += ["", "| # | step | venue | call | amounts | target | gas | after |", "|---|---|---|---|---|---|---|---|"]
    for n, (s, d) in enumerate(rv.steps, start=1):
        cells = [str(n), _code(s.id, cell=True), _md(venue_display(s.venue)), _code(d.function, cell=True), _md(_amounts(d)),
                 f"{_md(d.contract)} {_code(s.call.to, cell=True)}", f"{s.gas.estimate:,}", _md(", ".join(s.depends_on) or "-")]
        lines.append(f"| {' | '.join(cells)} |")
    lines += ["", "**Effects**", ""]
    for s, _ in rv.steps:
        lines += [f"- {_code(s.id)}: {_md(_effect(e))}" for e in s.effects]
    lines += ["", "**Checks** (derived from the calldata and the chain registry)", ""]
    lines += [f"- ok: {_md(c)}" for c in rv.checks]
    lines += ["", f"**Totals**: {_md(_totals(rv))}", ""]
    lines += [f"> **{line.split(maxsplit=1)[0]}**: {_md(line.split(maxsplit=1)[1])}" for line in _batch_lines(rv)]
    lines += [f"> **Note**: {_md(n)}" for n in rv.plan.notes]
    lines += [f"> **Warning**: {_md(w)}" for w in _warnings(rv)] or ["No warnings."]
    return "\n".join(printable(line) for line in lines) + "\n"


RENDERERS = {"text": text, "json": as_json, "markdown": markdown}
