"""A rendered recipe's YAML read by its lines (issue #10: a fresh `mammon apply` reads every recommendation's
recipe text once): whatever the line reader accepts, it reads exactly as libyaml's safe loader does."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mammon import Recommendation
from mammon.compile import recipes

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Pieces of lines near the accepted shape, with the scalars YAML reads as other things (bools, numbers, dates, null).
_WORDS = ["id", "amount", "venue", "on", "yes", "No", "null", "~", "true", "1", "0x1f", "1_000", "10.5", ".inf", "2026-01-01",
          "a.b", "x-y", "_", ".", "USDC", "${w.amount_out}", "1:30", "a b", "#", "'q'", "", "=", "<<", "é"]
_VALUES = st.one_of(
    st.sampled_from(_WORDS),
    st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0x7F), max_size=8),
    st.sampled_from(_WORDS).map(lambda w: f'"{w}"'),
    st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0x2030), max_size=6).map(lambda w: f'"{w}"'),
)
_KEYS = ["id", "amount", "venue", "token", "on", "yes", "null", "true", "1", "_", "a.b", "x-y"]
_GOOD_VALUES = st.one_of(st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,6}", fullmatch=True),
                        st.from_regex(r'"[ !#-\[\]-~]{0,8}"', fullmatch=True))
_NEAR_LINES = st.tuples(st.sampled_from(["- ", "  "]), st.one_of(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), st.sampled_from(_KEYS)),
                        st.one_of(_GOOD_VALUES, _GOOD_VALUES, _VALUES)).map(lambda t: f"{t[0]}{t[1]}: {t[2]}")
_ODD_LINES = st.one_of(
    st.tuples(st.sampled_from(["- ", "  ", "   ", "-  ", "", " - ", "\t"]), st.sampled_from(_WORDS), st.sampled_from([": ", ":", ": \t", " : "]),
              _VALUES, st.sampled_from(["", " ", " # c", "\r"])).map("".join),
    st.sampled_from(["", "  ", "---", "...", "- [a, b]", "  depends_on: [a]", "-", "  key:", "  - x", "# c"]),
)
_LINES = st.one_of(_NEAR_LINES, _NEAR_LINES, _NEAR_LINES, _ODD_LINES)
# Mostly the accepted shape: a first item line, then lines of that shape, a few odd ones among them.
_TEXTS = st.tuples(_NEAR_LINES.map(lambda line: "- " + line[2:]), st.lists(st.one_of(*[_NEAR_LINES] * 9, _ODD_LINES), max_size=7),
                   st.sampled_from(["", "\n", "\n\n  \n"]))


@settings(max_examples=3000, deadline=None)
@given(st.one_of(st.lists(_LINES, max_size=8).map("\n".join), _TEXTS.map(lambda t: "\n".join([t[0], *t[1]]) + t[2])))
def test_the_line_reader_reads_what_libyaml_reads(text: str) -> None:
    fast = recipes._flat_items(text)
    if fast is None:
        return
    assert fast == yaml.load(text, Loader=_LOADER)


def test_every_shipped_recipe_renders_to_text_the_line_reader_takes() -> None:
    """The fast path is the usual one: each recipe in plans/recipes, rendered, is read by lines, as libyaml reads it."""
    recs = [
        Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="10.5"),
        Recommendation(from_protocol=None, to_protocol="aave_v3", token="USDC", amount="10"),
        Recommendation(from_protocol="aave_v3", to_protocol=None, token="USDC", amount="all"),
        Recommendation(from_protocol="aave_v3", to_protocol="moonwell", token="USDC", to_token="WETH", swap_venue="uniswap_v3", amount="10"),
        Recommendation(from_protocol=None, to_protocol="aerodrome", token="USDC", amount="10"),
        Recommendation(from_protocol="aerodrome", to_protocol="aave_v3", token="USDC", amount="all"),
    ]
    book = recipes.book()
    seen = set()
    for rec in recs:
        name = book.choose(rec)
        text = book._env.get_template(name).render(rec=rec, pool_partner=lambda venue, token: "WETH")
        fast = recipes._flat_items(text)
        assert fast is not None, name
        assert fast == yaml.load(text, Loader=_LOADER)
        seen.add(name)
    assert seen == set(book.index.recipes)


def test_a_text_outside_the_shape_is_read_by_libyaml() -> None:
    text = "- id: w\n  action: withdraw\n  venue: moonwell\n  token: USDC\n  amount: '1'\n  depends_on: [a]\n"
    assert recipes._flat_items(text) is None
    (action,) = recipes._actions("t.yaml.j2", text)
    assert action.amount == "1" and action.depends_on == ["a"]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True), _GOOD_VALUES, min_size=1, max_size=6), min_size=1, max_size=4))
def test_lists_of_flat_items_are_read_by_lines_as_libyaml_reads_them(items: list[dict[str, str]]) -> None:
    text = "".join("- " + "  ".join(f"{k}: {v}\n" for k, v in item.items()) for item in items)
    expected = yaml.load(text, Loader=_LOADER)
    fast = recipes._flat_items(text)
    if all(isinstance(k, str) and isinstance(v, str) for item in expected for k, v in item.items()):
        assert fast == expected
    else:  # a key or value YAML reads as a bool, number, date or null: not the line reader's to read
        assert fast is None
