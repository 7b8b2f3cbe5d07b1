"""Recipes: the step sequence for each recommendation shape, as Jinja2 templates in `plans/recipes/`.

`index.yaml` lists recipes with a `when` expression; the first match renders into a list of
abstract actions (withdraw, deposit, swap, add/remove liquidity) that venue adapters expand.
"""

from __future__ import annotations

import os
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal, cast

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, TemplateError, TemplateSyntaxError, nodes
from jinja2.environment import TemplateExpression
from jinja2.parser import Parser
from pydantic import BaseModel, ConfigDict

from mammon.errors import InputError
from mammon.filecache import FileCache
from mammon.files import parse_model, read_data
from mammon.recommend import Recommendation

ROOT = Path(__file__).resolve().parent.parent.parent
RECIPE_DIR = Path(os.environ.get("MAMMON_RECIPE_DIR", ROOT / "plans" / "recipes"))

# libyaml's parser when installed (the same safe constructor, about ten times faster than pure Python)
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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


class _Environment(Environment):
    """Jinja2's environment, each template's globals one dict: mammon adds no globals once the environment is made,
    so the `ChainMap` Jinja2 keeps to see later ones only costs a walk of it twice per render (half a recipe's render)."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


@cache
def _environment(directory: Path) -> Environment:
    """One environment per recipe directory, for the whole process: Jinja2 keeps the compiled templates and
    recompiles one whose file changed (auto_reload)."""
    return _Environment(loader=FileSystemLoader(str(directory)), undefined=StrictUndefined, keep_trailing_newline=True)


@dataclass(frozen=True)
class _Index:
    """index.yaml, compiled: the recipes in order, and one expression that picks among them."""

    recipes: tuple[str, ...]
    first_match: TemplateExpression  # `rec` -> position of the first recipe whose `when` holds, -1 for none


def _when(env: Environment, source: str) -> nodes.Expr:
    """A `when` expression parsed as Jinja2 parses a `compile_expression` (TemplateSyntaxError when it does not)."""
    parser = Parser(env, source, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno, None, None)
    return expr


def _parse_index(index_path: Path) -> _Index:
    """The entries' `when`s become one conditional expression, `i if when_i else (… else -1)`, in index order: one
    evaluation (one Jinja2 context) per recommendation instead of one per entry tried, with the same short-circuit
    order. As with `compile_expression`, an undefined value is false (`when_i is defined and when_i`)."""
    env = _environment(index_path.parent)
    entries: list[tuple[str, str | bool]] = []
    for i, raw in enumerate(read_data(index_path) or []):
        entry = parse_model(RecipeEntry, raw, where=f"{index_path}: [{i}]")
        if isinstance(entry.when, str):
            try:
                _when(env, entry.when)
            except TemplateError as exc:
                raise InputError(f"`when` does not compile: {exc}", where=f"{index_path}: [{i}].when") from None
        entries.append((entry.recipe, entry.when))
    choice: nodes.Expr = nodes.Const(-1)
    for i, (_, when) in reversed(list(enumerate(entries))):
        if when is True:
            choice = nodes.Const(i)
        elif isinstance(when, str):
            holds = nodes.And(nodes.Test(_when(env, when), "defined", [], [], None, None), _when(env, when))
            choice = nodes.CondExpr(holds, nodes.Const(i), choice)
    tree = nodes.Template([nodes.Assign(nodes.Name("result", "store"), choice)])
    tree.set_environment(env)
    tree.set_lineno(1)
    return _Index(tuple(recipe for recipe, _ in entries), TemplateExpression(env.from_string(tree), undefined_to_none=False))


_INDEXES: FileCache[_Index] = FileCache(_parse_index)


class Book:
    """The recipes as one compile sees them: index.yaml and each template it renders are checked for changes
    (a `stat`) once per compile, not once per recommendation."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.index = _INDEXES.get(directory / "index.yaml")
        self._env = _environment(directory)
        self._templates: dict[str, Template] = {}

    def choose(self, rec: Recommendation) -> str:
        """Name of the first recipe in index.yaml whose `when` holds for `rec`."""
        found = cast(int, self.index.first_match(rec=rec))  # always an int: the expression is built of Const positions
        if found < 0:
            raise InputError("no recipe matches this recommendation", where=str(self.directory / "index.yaml"))
        return self.index.recipes[found]

    def render(self, rec: Recommendation, helpers: dict[str, Callable[..., object]]) -> tuple[str, list[Action]]:
        """Render the matching recipe for `rec` into actions."""
        name = self.choose(rec)
        try:
            template = self._templates.get(name)
            if template is None:
                template = self._templates[name] = self._env.get_template(name)
            text = template.render(rec=rec, **helpers)
        except InputError:
            raise
        except TemplateError as exc:
            raise InputError(f"recipe does not render: {exc}", where=str(self.directory / name)) from None
        return name, list(_actions(name, text))


def book() -> Book:
    """The recipes in RECIPE_DIR as they are now."""
    return Book(RECIPE_DIR)


def choose(rec: Recommendation) -> str:
    """Name of the first recipe in index.yaml whose `when` holds for `rec`."""
    return book().choose(rec)


def render(rec: Recommendation, helpers: dict[str, Callable[..., object]]) -> tuple[str, list[Action]]:
    """Render the matching recipe for `rec` into actions."""
    return book().render(rec, helpers)


@lru_cache(maxsize=256)
def _actions(name: str, text: str) -> tuple[Action, ...]:
    """The actions a rendered recipe text parses to, once per distinct text: recommendations of one shape
    render alike, and a plan is compiled again at validate and apply (the actions are frozen, so shared).
    Errors are not memoised."""
    source = str(RECIPE_DIR / name)  # (once: a path join costs as much as validating an action)
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER) or []
    except yaml.YAMLError as exc:
        raise InputError(f"recipe renders to malformed YAML: {exc}", where=source) from None
    if not isinstance(data, list):
        raise InputError("a recipe must render to a list of actions", where=source)
    return tuple(parse_model(Action, item, where=f"{source}: [{i}]") for i, item in enumerate(data))
