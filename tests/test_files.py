"""The one loader (mammon/files.py): it reads every valid file exactly as PyYAML/json would, and refuses the rest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mammon.errors import InputError
from mammon.files import loads_json, loads_yaml
from mammon_test_support import ROOT

VALID_YAML = sorted([*ROOT.glob("plans/**/*.yaml"), *ROOT.glob("mammon/chains/data/*.yaml"),
                     *ROOT.glob("tests/__snapshots__/test_compile_examples/*.yaml")])


@pytest.mark.parametrize("path", VALID_YAML, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_valid_yaml_reads_as_pyyaml_reads_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert loads_yaml(text, where=str(path)) == yaml.safe_load(text)
    as_json = json.dumps(yaml.safe_load(text), default=str)
    assert loads_json(as_json, where=str(path)) == json.loads(as_json)


@pytest.mark.parametrize(("text", "value"), [
    ("a: 1\nb: -2\nc: 0\nd: 1.5\ne: -0.25\nf: 1e5\n", {"a": 1, "b": -2, "c": 0, "d": 1.5, "e": -0.25, "f": "1e5"}),
    ("a: '010'\nb: \"1_000\"\nc: !!str 1:30\n", {"a": "010", "b": "1_000", "c": "1:30"}),
    ("a: &x 1\n", {"a": 1}),  # an anchor alone is harmless: only aliases are refused
    ("", None),
])
def test_plain_values_are_kept(text: str, value: object) -> None:
    assert loads_yaml(text, where="f") == value


@pytest.mark.parametrize(("text", "message"), [
    ("a: 1\na: 2\n", "f: duplicate key 'a' at line 2 column 1"),
    ("a: &x [1]\nb: *x\n", "f: YAML aliases (*x) are not allowed at line 2 column 4"),
    ("a: 010\n", "f: number '010' at line 1 column 4 is not a plain decimal"),
    ("a: .nan\n", "f: number '.nan' at line 1 column 4 is not finite"),
    ("a: " + "[" * 65 + "]" * 65, "f: nested deeper than 64 levels at line 1 column 67"),
])
def test_yaml_refusals(text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        loads_yaml(text, where="f")
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(("text", "message"), [
    ('{"a": 1, "a": 2}', "f: duplicate key 'a'"),
    ('{"a": NaN}', "f: NaN is not a JSON number"),
    ('{"a": 1e400}', "f: number 1e400 is out of range"),
    ("[" * 65 + "]" * 65, "f: nested deeper than 64 levels"),
    ("[" * 100_000, "f: nested deeper than 64 levels"),  # unclosed: the parser would still recurse
    ('{"s": "\\"' + "]" * 100 + '", "d": ' + "[" * 65 + "]" * 65 + "}", "f: nested deeper than 64 levels"),  # brackets in strings don't hide depth
])
def test_json_refusals(text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        loads_json(text, where="f")
    assert str(err.value) == message


def test_brackets_inside_strings_are_not_nesting() -> None:
    assert loads_json('{"a": "' + "[" * 1000 + '"}', where="f") == {"a": "[" * 1000}
    assert loads_json('{"a": "\\"' + "[" * 1000 + '"}', where="f") == {"a": '"' + "[" * 1000}
