"""Recipes: the step sequence for each recommendation shape, as Jinja2 templates in `plans/recipes/`.

`index.yaml` lists recipes with a `when` expression; the first match renders into a list of
abstract actions (withdraw, deposit, swap, add/remove liquidity) that venue adapters expand.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError
from pydantic import BaseModel, ConfigDict

from mammon.errors import InputError
from mammon.files import parse_model, read_data
from mammon.recommend import Recommendation

ROOT = Path(__file__).resolve().parent.parent.parent
RECIPE_DIR = Path(os.environ.get("MAMMON_RECIPE_DIR", ROOT / "plans" / "recipes"))

ActionKind = Literal["withdraw", "deposit", "swap", "add_liquidity", "remove_liquidity"]


class Action(BaseModel):
    """One abstract action of a recipe; `amount` is a literal, 'all', or `${step.output}` terms."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    action: ActionKind
    venue: str
    token: str
    to_token: str | None = None
    amount: str
    amount_b: str | None = None
    depends_on: list[str] = []


class RecipeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recipe: str
    when: str | bool


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(RECIPE_DIR)), undefined=StrictUndefined, keep_trailing_newline=True)


def choose(rec: Recommendation) -> str:
    """Name of the first recipe in index.yaml whose `when` holds for `rec`."""
    index_path = RECIPE_DIR / "index.yaml"
    entries = read_data(index_path)
    env = _environment()
    for i, raw in enumerate(entries or []):
        entry = parse_model(RecipeEntry, raw, where=f"{index_path}: [{i}]")
        if entry.when is True or (isinstance(entry.when, str) and env.compile_expression(entry.when)(rec=rec)):
            return entry.recipe
    raise InputError("no recipe matches this recommendation", where=str(index_path))


def render(rec: Recommendation, helpers: dict[str, Callable[..., object]]) -> tuple[str, list[Action]]:
    """Render the matching recipe for `rec` into actions."""
    name = choose(rec)
    try:
        text = _environment().get_template(name).render(rec=rec, **helpers)
    except InputError:
        raise
    except TemplateError as exc:
        raise InputError(f"recipe does not render: {exc}", where=str(RECIPE_DIR / name)) from None
    try:
        data = yaml.safe_load(text) or []
    except yaml.YAMLError as exc:
        raise InputError(f"recipe renders to malformed YAML: {exc}", where=str(RECIPE_DIR / name)) from None
    if not isinstance(data, list):
        raise InputError("a recipe must render to a list of actions", where=str(RECIPE_DIR / name))
    return name, [parse_model(Action, item, where=f"{RECIPE_DIR / name}: [{i}]") for i, item in enumerate(data)]
