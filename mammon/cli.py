"""The `mammon` command: a thin shell over the library (parse, call, render).

Exit codes: 0 success, 1 a check failed (a failed step, a diff outside tolerance), 2 bad input or a
refused plan, 3 an internal error (a bug). Every failure prints as one line on stderr, never a traceback
(unless MAMMON_DEBUG=1); `MammonGroup` is the one place that turns exceptions into lines and exit codes.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click

# Only click is imported here: `mammon --help` and the light commands must start fast, so each command
# imports what it uses inside its function (tests/test_cli_imports.py pins which heavy libraries each avoids).
if TYPE_CHECKING:
    from decimal import Decimal
    from pathlib import Path

    from mammon.errors import InputError
    from mammon.plan.planfile import Format

# The review renderers' names (mammon.review.render.RENDERERS; a test keeps the two equal).
RENDER_FORMATS = ("text", "json", "markdown")


DEBUG_ENV = "MAMMON_DEBUG"
INTERNAL_ERROR = 3


_LONGEST_WORD = 200  # an address is 42 characters, a hash 66: a longer word in an error is a file's content
_LONGEST_LINE = 4000


def _shortened(message: str) -> str:
    """The message with each overlong word cut to its ends, and at most _LONGEST_LINE characters: an error that
    quotes a 300 KB value from a file stays one line a reader can read."""
    if len(message) <= _LONGEST_WORD:
        return message
    text = " ".join(w if len(w) <= _LONGEST_WORD else f"{w[:80]}…{w[-20:]} ({len(w)} characters)" for w in message.split(" "))
    return text if len(text) <= _LONGEST_LINE else f"{text[:_LONGEST_LINE - 500]}… ({len(text)} characters)"


def _fail(message: str, code: int) -> NoReturn:
    from mammon.safetext import printable

    click.echo(f"error: {printable(_shortened(message))}", err=True)
    sys.exit(code)


class MammonGroup(click.Group):
    """The one exception path of the command line: every failure leaves as one line on stderr and an exit code.

    MammonError -> its message and exit code (2 bad input, 1 a failed check); a click usage error (unknown
    option, bad value) -> one line, exit 2; anything unexpected -> one "internal error" line, exit 3, with
    the traceback only when MAMMON_DEBUG=1.
    """

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        from mammon.errors import MammonError

        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except MammonError as exc:
            _fail(str(exc), exc.exit_code)
        except click.exceptions.NoArgsIsHelpError as exc:  # bare `mammon` (or `mammon audit`): not an error
            click.echo(exc.ctx.get_help() if exc.ctx else "")
            sys.exit(0)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx else (prog_name or "mammon")
            _fail(f"{command}: {exc.format_message()} (see '{command} --help')", exc.exit_code)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except click.exceptions.Abort:
            _fail("aborted", 1)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            sys.stderr.close()  # the reader went away (`mammon show plan.yaml | head`): nothing left to say
            sys.exit(1)
        except Exception as exc:  # noqa: BLE001 - the edge: whatever escaped becomes one line
            if os.environ.get(DEBUG_ENV) == "1":
                import traceback

                traceback.print_exc()
            _fail(f"internal error: {exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc).strip() else ''} "
                  f"(a bug in mammon: please report it with the command you ran; {DEBUG_ENV}=1 shows the traceback)", INTERNAL_ERROR)
        if standalone_mode:
            sys.exit(result if isinstance(result, int) else 0)
        return result


@click.group(cls=MammonGroup)
@click.version_option(package_name="mammon")
def cli() -> None:
    """Compile DeFi rebalancing recommendations into plans you can review, sign and apply."""


def _gas_price(value: str | None) -> Decimal | None:
    from mammon.errors import InputError
    from mammon.units import plain_decimal

    if value is None:
        return None
    from mammon.market import MAX_GAS_PRICE_GWEI

    price = plain_decimal(value, what="gas price", where="--gas-price-gwei")
    if price <= 0:
        raise InputError(f"must be positive, got {value}", where="--gas-price-gwei")
    if price > MAX_GAS_PRICE_GWEI:
        raise InputError(f"{value} gwei is more than {MAX_GAS_PRICE_GWEI:,} gwei: not a gas price", where="--gas-price-gwei")
    return price


def _in_file(exc: InputError, path: str, item: int | None) -> InputError:
    """Name the recommendation file (and list item) in an error the compiler reports as `recommendation[i].field`."""
    import re

    m = re.match(r"^recommendation(\[\d+\])?(?:\.(.+))?$", exc.where or "")
    if m:
        index = m.group(1) or (f"[{item}]" if item is not None else "")
        field = ".".join(part for part in (index, m.group(2)) if part)
        exc.where = f"{path}: {field}" if field else path
        exc.args = (f"{exc.where}: {exc.message}",)
    return exc


@cli.command("plan")
@click.argument("recommendation", type=click.Path(dir_okay=False))
@click.option("--chain", default=None, help="base, base-sepolia, devnet, or a chain from --chain-config "
              "(default: the chain --chain-config defines, else the one MAMMON_CHAIN_CONFIG / mammon.toml [chains] defines, else base)")
@click.option("--wallet", envvar="MAMMON_WALLET", required=True, help="address that signs the plan (env MAMMON_WALLET)")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write here (plan-N.yaml for several); default stdout")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default=None, help="default: from the file suffix, else yaml")
@click.option("--combine", is_flag=True, help="compile a list of recommendations into one plan")
@click.option("--prices", type=click.Path(dir_okay=False), help="market file: prices, gas price, venue rates, holdings")
@click.option("--gas-price-gwei", help="override the market's gas price")
@click.option("--chain-config", "chain_configs", multiple=True, type=click.Path(dir_okay=False), help="add or override a chain")
@click.option("--rpc", "rpc_url", help="read holdings, allowances, rates and gas price from this node; estimate gas on a fork of it")
@click.option("--allow-failing", is_flag=True, help="with --rpc: write a plan whose dry run fails (marked; show warns, validate exits 1)")
@click.option("--execution", type=click.Choice(["sequential", "batch", "safe"]), default="sequential", show_default=True,
              help="sequential: one transaction per step; batch: one EIP-7702 transaction; safe: one Safe execTransaction (needs --rpc)")
def plan_cmd(recommendation: str, chain: str | None, wallet: str, output: str | None, fmt: Format | None, combine: bool,
             prices: str | None, gas_price_gwei: str | None, chain_configs: tuple[str, ...], rpc_url: str | None,
             allow_failing: bool, execution: str) -> None:
    """Compile RECOMMENDATION (one, or a list) into plan file(s)."""
    from mammon import clock
    from mammon.api import compile_plan
    from mammon.chains import default_chain, load_chain
    from mammon.errors import InputError
    from mammon.market import load_market
    from mammon.plan.planfile import dump, dumps
    from mammon.recommend import load_recommendations
    from mammon.types import wallet_address

    if allow_failing and not rpc_url:
        raise InputError("keeps a plan whose dry run on a node failed, so it needs --rpc URL (the node to try it on)", where="--allow-failing")
    recs = load_recommendations(recommendation)
    targets = _plan_targets(output, 1 if combine else len(recs))
    chain_cfg = load_chain(chain or default_chain(chain_configs), chain_configs)
    market = load_market(prices)
    if rpc_url:
        try:
            wallet = wallet_address(wallet)
        except ValueError as exc:
            raise InputError(str(exc), where="--wallet") from None
        from mammon.market_rpc import read_market

        market = read_market(rpc_url, chain_cfg, wallet, market)
    market = market.with_overrides(gas_price_gwei=_gas_price(gas_price_gwei))
    batches = [recs] if combine else [[r] for r in recs]
    safe = None
    if execution == "safe":
        from mammon.compile.batching import read_safe_state

        if not rpc_url:
            raise InputError("--execution safe reads the Safe's nonce, owners and threshold from a node: pass --rpc URL", where="--execution safe")
        safe = read_safe_state(rpc_url, wallet_address(wallet))
    plans = []
    for i, batch in enumerate(batches):
        try:
            plans.append(compile_plan(batch, chain=chain_cfg, wallet=wallet, market=market, now=clock.now(), execution=execution, safe=safe))
        except InputError as exc:
            raise _in_file(exc, recommendation, i if len(recs) > 1 and not combine else None) from None
    if rpc_url:  # an atomic plan: its one transaction, measured the way its runner tries it
        from mammon.compile.node_gas import estimate_on_node

        plans = [estimate_on_node(p, rpc_url, allow_failing=allow_failing) for p in plans]
    if output is None:
        click.echo("---\n".join(dumps(p, fmt or "yaml") for p in plans), nl=False)
        return
    for plan, target in zip(plans, targets, strict=True):
        dump(plan, target, fmt)
        click.echo(f"wrote {target} ({len(plan.steps)} steps, {plan.content_hash[:19]}…)", err=True)


def _plan_targets(output: str | None, count: int) -> list[Path]:
    """The plan files `-o` names (`plan-N.yaml` for several), each refused now if it cannot be written."""
    from pathlib import Path

    from mammon.files import check_output

    if output is None:
        return []
    if not output.strip() or output.endswith("/"):
        check_output(output)  # refuses an empty path, and one naming a directory (Path() would drop its slash)
    out = Path(output)
    targets = [out] if count == 1 else [out.with_name(f"{out.stem}-{n}{out.suffix}") for n in range(1, count + 1)]
    for target in targets:
        check_output(target, probe=True)
    return targets


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(sorted(RENDER_FORMATS)), default="text", show_default=True)
@click.option("--chain-config", type=click.Path(dir_okay=False), help="chain config for a chain not in the registry")
def show(plan: str, fmt: str, chain_config: str | None) -> None:
    """Review PLAN: every step decoded from its calldata, effects, totals and warnings (checked as validate checks it)."""
    from mammon import clock
    from mammon.api import validate_plan
    from mammon.review.render import RENDERERS

    click.echo(RENDERERS[fmt](validate_plan(plan, chain_config=chain_config, now=clock.now())), nl=False)


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--chain-config", type=click.Path(dir_okay=False))
@click.option("--export", "exports", multiple=True, type=click.Path(dir_okay=False), help="also check this export of PLAN (same calls, same order)")
def validate(plan: str, chain_config: str | None, exports: tuple[str, ...]) -> None:
    """Check PLAN (schema, hash, step graph, calldata vs view and what it implies, expiry, recompile) and any --export of it; exit 0, 1 if a step failed its dry run, or 2."""
    from mammon import clock
    from mammon.api import validate_plan

    rv = validate_plan(plan, chain_config=chain_config, now=clock.now())
    if exports:
        from mammon.export import verify_export

        checked = [(path, verify_export(rv, path, plan_where=plan)) for path in exports]
    from mammon.review.render import registry
    from mammon.safetext import printable  # plan text and file names: no escape or line break reaches the terminal

    source, replaced = registry(rv.chain)
    click.echo(printable(f"ok: {plan} is valid ({len(rv.steps)} steps, {rv.plan.content_hash[:19]}…, valid until {rv.plan.valid_until:%Y-%m-%d %H:%M:%S} UTC)"))
    click.echo(printable(f"registry: {source}"))
    for path, fmt in checked if exports else []:
        click.echo(printable(f"ok: {path} is a {fmt} export of it ({len(rv.steps)} calls, same order)"))
    for warning in [*rv.warnings, *([replaced] if replaced else [])]:
        click.echo(printable(f"warning: {warning}"), err=True)
    if rv.failing:  # a plan that failed its own dry run is not a plan to sign
        sys.exit(1)


@cli.command("export")
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["safe-tx-builder", "eip5792"]), required=True,
              help="safe-tx-builder: Safe{Wallet} Transaction Builder JSON; eip5792: wallet_sendCalls params")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write here; default stdout")
@click.option("--chain-config", type=click.Path(dir_okay=False))
def export_cmd(plan: str, fmt: str, output: str | None, chain_config: str | None) -> None:
    """Export PLAN's calls as one atomic batch for a wallet (carries the plan's content hash)."""
    from pathlib import Path

    from mammon import clock
    from mammon.api import validate_plan
    from mammon.export import export_text
    from mammon.files import check_output, write_output

    rv = validate_plan(plan, chain_config=chain_config, now=clock.now())
    if output is not None:
        check_output(output, probe=True)
    text = export_text(rv, fmt, where=plan)
    if output is None:
        click.echo(text, nl=False)
        return
    write_output(Path(output), text)
    click.echo(f"wrote {output} ({fmt}, {len(rv.steps)} calls, plan {rv.plan.content_hash[:19]}…)", err=True)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the plan format."""
    import json

    from mammon.api import plan_schema

    click.echo(json.dumps(plan_schema(), indent=2))


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--runner", "runner_name", default="sim", show_default=True, help="runner from the mammon.runners entry points")
@click.option("--world", type=click.Path(dir_okay=False), help="sim: world file (default plans/worlds/default.yaml)")
@click.option("--rpc-url", envvar="ETH_RPC_URL", help="rpc: JSON-RPC endpoint (env ETH_RPC_URL)")
@click.option("--keystore", type=click.Path(dir_okay=False), help="rpc: encrypted JSON keystore (else MAMMON_PRIVATE_KEY or MAMMON_MNEMONIC)")
@click.option("--account-index", type=click.IntRange(0, 2**31 - 1), help="rpc: MAMMON_MNEMONIC account m/44'/60'/0'/0/N (default 0)")
@click.option("--derivation-path", help="rpc: MAMMON_MNEMONIC derivation path (instead of --account-index)")
@click.option("--fork-url", help="dry-run: apply on an anvil fork of this URL")
@click.option("--confirmations", default=1, show_default=True, type=click.IntRange(min=1), help="rpc: blocks to wait per step")
@click.option("--yes", is_flag=True, help="do not ask before sending to a real chain")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="run record (default: <plan>.run.json; an existing one is resumed)")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), help="policy TOML (default mammon.toml if present)")
@click.option("--state-dir", type=click.Path(file_okay=False),
              help="stop flag, audit log, locks (default MAMMON_STATE_DIR, else ~/.local/state/mammon)")
@click.option("--chain-config", type=click.Path(dir_okay=False))
@click.option("--allow-replay", is_flag=True, help="apply a plan this wallet already applied on this chain (recorded in the audit log)")
@click.option("--quiet", is_flag=True, help="print only the diff")
@click.option("--approvals", "approvals_file", type=click.Path(dir_okay=False), help="reviewers' signatures (default <plan>.approvals.json)")
def apply(plan: str, runner_name: str, world: str | None, rpc_url: str | None, keystore: str | None, account_index: int | None,
          derivation_path: str | None, fork_url: str | None, confirmations: int, yes: bool, output: str | None, policy_file: str | None,
          state_dir: str | None, chain_config: str | None, allow_replay: bool, quiet: bool, approvals_file: str | None) -> None:
    """Run PLAN through a runner, journal every step, and print the expected-vs-actual diff."""
    from mammon.diff import render_text
    from mammon.run.api import apply_file

    from mammon.run.session import no_progress

    if output is not None:  # refused before the plan is checked, a runner started or anything logged
        from mammon.files import check_output

        check_output(output, probe=True, regular=True)
    echo = no_progress if quiet else _echo_progress
    record, result = apply_file(
        plan, runner_name=runner_name, record_path=output, policy_file=policy_file, state_dir=state_dir, chain_config=chain_config,
        confirm=None if yes else _confirm, progress=echo, show_review=not quiet, allow_replay=allow_replay, approvals_path=approvals_file,
        runner_options={"world": world, "rpc_url": rpc_url, "keystore": keystore, "fork_url": fork_url, "confirmations": confirmations,
                        "account_index": account_index, "derivation_path": derivation_path},
    )
    click.echo(render_text(result), nl=False)
    if not result.ok:
        sys.exit(1)


@cli.command()
@click.argument("recommendation", type=click.Path(dir_okay=False))
@click.option("--chain", default="base", show_default=True, help="base, base-sepolia, devnet, or a name from --chain-config")
@click.option("--wallet", envvar="MAMMON_WALLET", required=True, help="address that signs the plan (env MAMMON_WALLET)")
@click.option("--runner", "runner_name", default="sim", show_default=True, help="sim, rpc, or a runner from the mammon.runners entry points")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="plan file (default: <RECOMMENDATION>-<hash>.plan.yaml next to it)")
@click.option("--rpc-url", envvar="ETH_RPC_URL", help="rpc: JSON-RPC endpoint (env ETH_RPC_URL); the market is read from it")
@click.option("--prices", type=click.Path(dir_okay=False), help="market file: prices, gas price, venue rates, holdings")
@click.option("--world", type=click.Path(dir_okay=False), help="sim: world file (default plans/worlds/default.yaml)")
@click.option("--keystore", type=click.Path(dir_okay=False), help="rpc: encrypted JSON keystore (else MAMMON_PRIVATE_KEY or MAMMON_MNEMONIC)")
@click.option("--account-index", type=click.IntRange(0, 2**31 - 1), help="rpc: MAMMON_MNEMONIC account m/44'/60'/0'/0/N (default 0)")
@click.option("--derivation-path", help="rpc: MAMMON_MNEMONIC derivation path (instead of --account-index)")
@click.option("--confirmations", default=1, show_default=True, type=click.IntRange(min=1), help="rpc: blocks to wait per step")
@click.option("--yes", is_flag=True, help="do not ask before sending to a real chain (automation)")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), help="policy TOML (default mammon.toml if present)")
@click.option("--state-dir", type=click.Path(file_okay=False),
              help="stop flag, audit log, locks (default MAMMON_STATE_DIR, else ~/.local/state/mammon)")
@click.option("--chain-config", type=click.Path(dir_okay=False), help="add or override a chain")
@click.option("--read-node/--no-read-node", default=None, help="compile on the market read from --rpc-url (default: with --runner rpc)")
def rebalance(recommendation: str, chain: str, wallet: str, runner_name: str, output: str | None, rpc_url: str | None, prices: str | None,
              world: str | None, keystore: str | None, account_index: int | None, derivation_path: str | None, confirmations: int,
              yes: bool, policy_file: str | None, state_dir: str | None, chain_config: str | None, read_node: bool | None) -> None:
    """The optimizer loop: plan RECOMMENDATION to a file, show it, confirm, apply that file, print the diff."""
    from pathlib import Path

    from mammon.errors import InputError
    from mammon.files import check_output
    from mammon.rebalance import Rebalancer, save_plan
    from mammon.recommend import load_recommendations

    r = Rebalancer(chain=chain, wallet=wallet, runner=runner_name, rpc_url=rpc_url, world=world, prices=prices, keystore=keystore,
                   account_index=account_index, derivation_path=derivation_path, policy_file=policy_file, state_dir=state_dir,
                   chain_config=chain_config, confirmations=confirmations, read_node=read_node, progress=_echo_progress)
    recs = load_recommendations(recommendation)
    if output is not None:  # refused before anything is compiled (a missing directory is created, as for the default)
        check_output(output, probe=True, parents=True)
    r.refuse_unfinished()  # a rerun after a crash resumes that apply, never compiles the rebalance again
    try:
        plan = r.plan(recs)
    except InputError as exc:
        raise _in_file(exc, recommendation, None) from None
    r.check(plan)
    source = Path(recommendation)
    path = save_plan(plan, Path(output) if output else source.with_name(f"{source.stem}-{plan.content_hash.removeprefix('sha256:')[:12]}.plan.yaml"))
    click.echo(f"wrote {path} ({len(plan.steps)} steps, {plan.content_hash[:19]}…)", err=True)
    result = r.apply(path, confirm=None if yes else _confirm, show_review=True)
    click.echo(f"run record {result.record_path}", err=True)
    click.echo(result.summary(), nl=False)
    if not result.success:
        sys.exit(1)


def _echo_progress(message: str) -> None:
    """A progress line of an apply (the review, each step, a revert reason from the chain): escaped line by line, so no
    text from a plan or a node moves the cursor or fakes a line."""
    from mammon.safetext import printable

    click.echo("\n".join(printable(line) for line in message.split("\n")))


def _confirm(summary: str) -> bool:
    from mammon.errors import InputError

    if not sys.stdin.isatty():
        raise InputError("refusing to send without confirmation: pass --yes", where="apply")
    return click.confirm(summary, default=False)


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--keystore", type=click.Path(dir_okay=False), help="reviewer's encrypted JSON keystore (else MAMMON_PRIVATE_KEY)")
@click.option("--chain-config", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="approvals file (default <plan>.approvals.json)")
def approve(plan: str, keystore: str | None, chain_config: str | None, output: str | None) -> None:
    """Sign PLAN's content hash as its reviewer (EIP-191), after every check validate makes."""
    from pathlib import Path

    from mammon import clock
    from mammon.api import validate_plan
    from mammon.plan import approvals
    from mammon.files import cannot_write, check_output
    from mammon.run.keys import load_signer

    rv = validate_plan(plan, chain_config=chain_config, now=clock.now())
    # Refused before the key is asked for: a path that cannot be written, an empty -o, a device (the file is read back and replaced).
    check_output(approvals.sidecar(plan) if output is None else output, probe=True, regular=True)
    target = approvals.sidecar(plan) if output is None else Path(output)
    signer = load_signer(keystore)
    try:
        approvals.add(rv.plan, target, signer.address, signer.sign_text(rv.plan.content_hash), clock.now())
    except OSError as exc:  # the disk filled, or the directory changed, since the check above
        raise cannot_write(exc, target) from None
    click.echo(f"approved {rv.plan.content_hash[:19]}… as {signer.address} ({target})")


@cli.command("diff")
@click.argument("plan", type=click.Path(dir_okay=False))
@click.argument("record", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), help="policy TOML whose fee ceiling applies (default mammon.toml if present)")
def diff_cmd(plan: str, record: str, fmt: str, policy_file: str | None) -> None:
    """Compare PLAN's expected effects and gas with RECORD; exit 1 when outside tolerance."""
    from mammon.diff import diff, render_json, render_text
    from mammon.errors import InputError
    from mammon.plan.planfile import load
    from mammon.run import record as journal
    from mammon.run.policy import load_policy

    loaded, rec = load(plan), journal.load(record)
    if rec.plan_hash != loaded.content_hash:
        raise InputError(f"run record is for plan {rec.plan_hash[:19]}…, not {loaded.content_hash[:19]}…", where=record)
    result = diff(loaded, rec, max_fee_multiple=load_policy(policy_file).max_fee_multiple)
    click.echo((render_json if fmt == "json" else render_text)(result), nl=False)
    if not result.ok:
        sys.exit(1)


@cli.command()
@click.option("--clear", is_flag=True, help="remove the stop flag")
@click.option("--state-dir", type=click.Path(file_okay=False), help="default MAMMON_STATE_DIR, else ~/.local/state/mammon")
def stop(clear: bool, state_dir: str | None) -> None:
    """Emergency stop: a running apply halts before its next step (until --clear)."""
    from mammon import clock
    from mammon.run import state

    directory = state.state_dir(state_dir)
    if clear:
        click.echo("stop flag cleared" if state.clear_stop(directory) else "no stop flag was set")
    else:
        state.set_stop(directory, f"set {clock.now().isoformat()}\n")
        click.echo(f"stop flag set in {directory}: applies halt before their next step")


@cli.group()
def audit() -> None:
    """The append-only audit log of applies."""


@audit.command("verify")
@click.option("--state-dir", type=click.Path(file_okay=False))
@click.option("--record", "records", multiple=True, type=click.Path(dir_okay=False), help="also check this run record's anchor")
def audit_verify(state_dir: str | None, records: tuple[str, ...]) -> None:
    """Check the audit log's hash chain and anchors; exit 1 if it was edited, cut, rewritten or removed."""
    from pathlib import Path

    from mammon.run import audit as audit_log
    from mammon.run import state
    from mammon.run.record import read_raw

    for record in records:  # a --record that is missing or not a run record is bad input (exit 2), not a failed check
        read_raw(record)
    directory = state.state_dir(state_dir)
    count = audit_log.verify(directory, [Path(r) for r in records])
    click.echo(f"ok: {count} entries, chain intact and anchored ({directory / 'audit.jsonl'})")


@cli.group()
def safe() -> None:
    """Owner signatures for --execution safe plans."""


@safe.command("sign")
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--keystore", type=click.Path(dir_okay=False), help="encrypted JSON keystore (else MAMMON_PRIVATE_KEY)")
@click.option("--rpc-url", envvar="ETH_RPC_URL", help="try the Safe transaction on a fork of this node before signing (env ETH_RPC_URL)")
@click.option("--chain-config", type=click.Path(dir_okay=False))
def safe_sign(plan: str, keystore: str | None, rpc_url: str | None, chain_config: str | None) -> None:
    """Add this owner's signature of PLAN's safeTxHash to <plan>.safe-signatures.json (the key is never printed or written).

    With a node (--rpc-url), the whole Safe transaction is first tried on an anvil fork of it (the owners'
    approvals standing in for their signatures); a transaction that would revert is not signed.
    """
    from mammon import clock
    from mammon.api import validate_plan
    from mammon.run.keys import load_signer
    from mammon.run.safe import check_owner, sign, signatures_path, status_line

    rv = validate_plan(plan, chain_config=chain_config, now=clock.now())
    signer = load_signer(keystore)
    path = signatures_path(plan)
    check_owner(rv.plan, signer)
    if rpc_url:
        from mammon.errors import StalePlanError
        from mammon.run.safe import trial_with_approvals

        failure = trial_with_approvals(rv.plan, rpc_url)
        if failure:
            raise StalePlanError([failure], where="safe sign: preflight (the Safe transaction on a fork, before signing)")
    sigs, added = sign(rv.plan, signer, path)
    if not rpc_url:
        click.echo("note: not tried on a fork before signing (pass --rpc-url); apply tries it again before sending", err=True)
    click.echo(f"{'signed' if added else 'already signed'}: {signer.address} -> {path}")
    click.echo(status_line(rv.plan, sigs))


@cli.group()
def devnet() -> None:
    """A local anvil chain with the protocols' real bytecode (Aave V3, Uniswap V3, ERC-4626) and stand-ins."""


@devnet.command("up")
@click.option("--port", default=8545, show_default=True, type=click.IntRange(1, 65535))
@click.option("--state-dir", default=".mammon/devnet", show_default=True, type=click.Path(file_okay=False))
@click.option("--fund", multiple=True, help="also give this address the default portfolio")
def devnet_up(port: int, state_dir: str, fund: tuple[str, ...]) -> None:
    """Start anvil, deploy (or reload the deployed state) and write the devnet chain config."""

    from mammon import devnet as dev
    from mammon.errors import InputError
    from mammon.types import wallet_address

    try:
        funded = [wallet_address(a) for a in fund]
    except ValueError as exc:
        raise InputError(str(exc), where="--fund") from None
    from mammon.files import make_directory

    info = dev.up(port=port, state_dir=make_directory(state_dir, "devnet state directory"), fund=funded)
    click.echo(f"devnet up: {info.rpc_url} (pid {info.pid}, chain 31337); chain config {info.chain_config}")
    click.echo(f"deploy {info.deploy_seconds:.2f} s, boot {info.boot_seconds:.2f} s; use --chain devnet (MAMMON_DEVNET_CONFIG={info.chain_config})")


@devnet.command("down")
@click.option("--state-dir", default=".mammon/devnet", show_default=True, type=click.Path(file_okay=False))
def devnet_down(state_dir: str) -> None:
    """Stop the devnet started by `devnet up` (by its PID file)."""
    from pathlib import Path

    from mammon import devnet as dev

    click.echo("devnet stopped" if dev.down(Path(state_dir)) else "no devnet was running")


def main() -> None:
    try:
        cli(prog_name="mammon")
    finally:
        # Everything the command built lives until exit anyway: frozen, the collector skips it at
        # interpreter shutdown (measured: ~0.1 s less for an rpc apply, a few ms for show).
        gc.freeze()


if __name__ == "__main__":
    main()
