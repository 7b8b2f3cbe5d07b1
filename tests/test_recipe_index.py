"""index.yaml picks a recipe: the first entry whose `when` holds, evaluated as one expression (issue #10)."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import Environment, StrictUndefined

from mammon import Recommendation
from mammon.compile import recipes
from mammon.errors import InputError

RECS = [
    Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="10"),
    Recommendation(from_protocol=None, to_protocol="aave_v3", token="USDC", amount="10"),
    Recommendation(from_protocol="aave_v3", to_protocol=None, token="USDC", amount="all"),
    Recommendation(from_protocol="aave_v3", to_protocol="moonwell", token="USDC", to_token="WETH", amount="10"),
]


def _index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    (tmp_path / "index.yaml").write_text(body)
    monkeypatch.setattr(recipes, "RECIPE_DIR", tmp_path)


def _one_by_one(body: list[tuple[str, str | bool]], rec: Recommendation) -> str | None:
    """What `when` means, entry by entry, with Jinja2's own compile_expression (undefined is false)."""
    env = Environment(undefined=StrictUndefined)
    for recipe, when in body:
        if when is True or (isinstance(when, str) and env.compile_expression(when)(rec=rec)):
            return recipe
    return None


INDEX = [("a", "rec.to_protocol == 'aerodrome'"), ("b", False), ("c", "rec.no_such_field"), ("d", "rec.to_token"),
         ("e", "rec.from_protocol is none"), ("f", "rec.amount == 'all' and rec.to_protocol is none"), ("g", "rec.token == 'USDC'")]


def test_the_first_entry_that_holds_wins_as_if_tried_one_by_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _index(tmp_path, monkeypatch, "".join(f"- recipe: {r}\n  when: {w if isinstance(w, str) else str(w).lower()}\n" for r, w in INDEX))
    for rec in RECS:
        assert recipes.choose(rec) == _one_by_one(INDEX, rec)
    assert [recipes.choose(r) for r in RECS] == ["g", "e", "f", "d"]


def test_no_entry_holding_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _index(tmp_path, monkeypatch, "- recipe: a\n  when: rec.token == 'WETH'\n- recipe: b\n  when: false\n")
    with pytest.raises(InputError, match="no recipe matches this recommendation"):
        recipes.choose(RECS[0])


def test_a_when_that_does_not_compile_is_refused_by_its_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _index(tmp_path, monkeypatch, "- recipe: a\n  when: true\n- recipe: b\n  when: rec.token ==\n")
    with pytest.raises(InputError, match=r"index.yaml: \[1\].when: `when` does not compile"):
        recipes.choose(RECS[0])


def test_a_recipe_sees_jinjas_globals_and_the_helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Templates keep their globals in one dict (issue #10): Jinja2's own (`range`, `namespace`) are still there."""
    _index(tmp_path, monkeypatch, "- recipe: r.yaml.j2\n  when: true\n")
    (tmp_path / "r.yaml.j2").write_text(
        "{% set ns = namespace(n=0) %}{% for i in range(2) %}{% set ns.n = ns.n + 1 %}{% endfor %}"
        "- id: w{{ ns.n }}\n  action: withdraw\n  venue: {{ rec.from_protocol }}\n  token: {{ partner('x') }}\n  amount: \"1\"\n")
    name, [action] = recipes.book().render(RECS[0], {"partner": lambda v: v.upper()})
    assert (name, action.id, action.token, action.venue) == ("r.yaml.j2", "w2", "X", "moonwell")
