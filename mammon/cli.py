"""The `mammon` command: a thin shell over the library (parse, call, render).

Exit codes: 0 success, 1 a check failed (a failed step, a diff outside tolerance), 2 bad input or a
refused plan. Every MammonError prints as one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from mammon import clock
from mammon.api import compile_plan, plan_schema, validate_plan
from mammon.errors import InputError, MammonError
from mammon.market import load_market
from mammon.plan.planfile import dump, dumps
from mammon.recommend import load_recommendations
from mammon.review.render import RENDERERS


class MammonGroup(click.Group):
    """Turns MammonError into one line and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MammonError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=MammonGroup)
@click.version_option(package_name="mammon")
def cli() -> None:
    """Compile DeFi rebalancing recommendations into plans you can review, sign and apply."""


def _gas_price(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise InputError(f"{value!r} is not a number", where="--gas-price-gwei") from None
    if not price.is_finite() or price <= 0:
        raise InputError(f"must be positive, got {value}", where="--gas-price-gwei")
    return price


@cli.command("plan")
@click.argument("recommendation", type=click.Path(dir_okay=False))
@click.option("--chain", default="base", show_default=True, help="base, base-sepolia, devnet, or a name from --chain-config")
@click.option("--wallet", envvar="MAMMON_WALLET", required=True, help="address that signs the plan (env MAMMON_WALLET)")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write here (plan-N.yaml for several); default stdout")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default=None, help="default: from the file suffix, else yaml")
@click.option("--combine", is_flag=True, help="compile a list of recommendations into one plan")
@click.option("--prices", type=click.Path(dir_okay=False), help="market file: prices, gas price, venue rates, holdings")
@click.option("--gas-price-gwei", help="override the market's gas price")
@click.option("--chain-config", "chain_configs", multiple=True, type=click.Path(dir_okay=False), help="add or override a chain")
def plan_cmd(recommendation: str, chain: str, wallet: str, output: str | None, fmt: str | None, combine: bool,
             prices: str | None, gas_price_gwei: str | None, chain_configs: tuple[str, ...]) -> None:
    """Compile RECOMMENDATION (one, or a list) into plan file(s)."""
    recs = load_recommendations(recommendation)
    market = load_market(prices).with_overrides(gas_price_gwei=_gas_price(gas_price_gwei))
    batches = [recs] if combine else [[r] for r in recs]
    plans = [compile_plan(batch, chain=chain, wallet=wallet, market=market, now=clock.now(), chain_configs=chain_configs) for batch in batches]
    if output is None:
        click.echo("---\n".join(dumps(p, fmt or "yaml") for p in plans), nl=False)
        return
    out = Path(output)
    targets = [out] if len(plans) == 1 else [out.with_name(f"{out.stem}-{n}{out.suffix}") for n in range(1, len(plans) + 1)]
    for plan, target in zip(plans, targets, strict=True):
        dump(plan, target, fmt)  # type: ignore[arg-type]
        click.echo(f"wrote {target} ({len(plan.steps)} steps, {plan.content_hash[:19]}…)", err=True)


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(sorted(RENDERERS)), default="text", show_default=True)
@click.option("--chain-config", type=click.Path(dir_okay=False), help="chain config for a chain not in the registry")
def show(plan: str, fmt: str, chain_config: str | None) -> None:
    """Review PLAN: every step decoded from its calldata, effects, totals and warnings."""
    click.echo(RENDERERS[fmt](validate_plan(plan, chain_config=chain_config, now=clock.now())), nl=False)


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--chain-config", type=click.Path(dir_okay=False))
def validate(plan: str, chain_config: str | None) -> None:
    """Check PLAN (schema, hash, step graph, calldata vs view, expiry); exit 0 or 2."""
    rv = validate_plan(plan, chain_config=chain_config, now=clock.now())
    click.echo(f"ok: {plan} is valid ({len(rv.steps)} steps, {rv.plan.content_hash[:19]}…, valid until {rv.plan.valid_until:%Y-%m-%d %H:%M:%S} UTC)")
    for warning in rv.warnings:
        click.echo(f"warning: {warning}", err=True)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the plan format."""
    click.echo(json.dumps(plan_schema(), indent=2))


def main() -> None:
    cli(prog_name="mammon")


if __name__ == "__main__":
    main()
