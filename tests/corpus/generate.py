"""Write the bad-input corpus: one file per case under tests/corpus/<kind>/, and each kind's cases.yaml.

Run `python tests/corpus/generate.py` after changing a case here, then review the diff of the written files
like code (they are committed; tests/test_corpus.py runs every one). Each case names the file, the exit code
and a fragment of the one error line it must produce.

A file ending in `.edit.yaml` is not used as it is: it edits a fresh valid input (`base`: the example plan,
its simulator run record, the default world, the Base chain config or a recommendation) so the corpus keeps
testing what it means to while the valid formats evolve. Everything else is copied byte for byte.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
WALLET = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
GOOD = "from_protocol: moonwell\nto_protocol: aave_v3\ntoken: USDC\n"
REC = f"{GOOD}amount: '1000'\n"
NOT_PLAIN = "is not a plain decimal"

RUN = {
    "recommendations": ["plan", "{file}", "--wallet", WALLET, "-o", "{out}/plan.yaml"],
    "plans": ["validate", "{file}"],
    "chains": ["plan", "{example}", "--wallet", WALLET, "--chain", "myfork", "--chain-config", "{file}", "-o", "{out}/plan.yaml"],
    "worlds": ["plan", "{example}", "--wallet", WALLET, "--prices", "{file}", "-o", "{out}/plan.yaml"],
    "policies": ["apply", "{plan}", "--policy", "{file}", "--state-dir", "{state}", "-o", "{out}/run.json"],
    "keys": ["apply", "{plan}", "--runner", "rpc", "--rpc-url", "http://127.0.0.1:9", "--keystore", "{file}", "--yes",
             "--state-dir", "{state}", "-o", "{out}/run.json"],
    "cli": [],
    "state": ["apply", "{plan}", "--state-dir", "{state}", "-o", "{out}/run.json"],
    "records": ["diff", "{plan}", "{file}"],
    "audit": ["audit", "verify", "--state-dir", "{state}"],
}
WORLD_APPLY = ["apply", "{plan}", "--world", "{file}", "--state-dir", "{state}", "-o", "{out}/run.json"]
RESUME = ["apply", "{plan}", "--state-dir", "{state}", "-o", "{file}"]
SHOW = ["show", "{file}"]
APPLY_PLAN = ["apply", "{file}", "--state-dir", "{state}", "-o", "{out}/run.json"]

Case = dict[str, Any]
CASES: dict[str, list[tuple[str, bytes | str | dict[str, Any], int, str, dict[str, Any]]]] = {k: [] for k in RUN}


def case(kind: str, name: str, content: bytes | str | dict[str, Any], code: int, message: str, **extra: Any) -> None:
    CASES[kind].append((name, content, code, message, extra))


def deep_yaml(levels: int) -> str:
    return "reason: " + "[" * levels + "]" * levels + "\n"


def deep_block(levels: int) -> str:
    return "".join("  " * i + "a:\n" for i in range(levels)) + "  " * levels + "b: 1\n"


def bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# --- recommendations ---------------------------------------------------------------------------

R = "recommendations"
case(R, "unclosed-bracket.yaml", "to_protocol: aave_v3\ntoken: [USDC\namount: '10'\n", 2, "malformed YAML at line")
case(R, "tab-indent.yaml", "to_protocol: aave_v3\ntoken:\n\tUSDC\n", 2, "malformed YAML")
case(R, "bad-indent.yaml", "to_protocol: aave_v3\n  token: USDC\namount: '1'\n", 2, "malformed YAML")
case(R, "unclosed-quote.yaml", f"{GOOD}amount: '10\n", 2, "malformed YAML")
case(R, "colon-in-value.yaml", f"{GOOD}amount: 10: 20\n", 2, "malformed YAML")
case(R, "trailing-comma.json", '{"to_protocol": "aave_v3", "token": "USDC", "amount": "1",}', 2, "malformed JSON at line 1")
case(R, "single-quotes.json", "{'to_protocol': 'aave_v3'}", 2, "malformed JSON")
case(R, "comment.json", '{"to_protocol": "aave_v3" // here\n}', 2, "malformed JSON")
case(R, "truncated.json", '{"to_protocol": "aave_v3", "token": "US', 2, "malformed JSON")
case(R, "empty.json", "", 2, "malformed JSON")
case(R, "yaml-in-json.json", REC, 2, "malformed JSON")
case(R, "empty.yaml", "", 2, "expected a recommendation")
case(R, "only-comment.yaml", "# nothing here\n", 2, "expected a recommendation")
case(R, "null.yaml", "~\n", 2, "expected a recommendation")
case(R, "scalar.yaml", "just a string\n", 2, "expected a recommendation")
case(R, "integer.yaml", "42\n", 2, "expected a recommendation")
case(R, "scalar.json", '"moonwell"', 2, "expected a recommendation")
case(R, "list-of-scalars.yaml", "- a\n- b\n", 2, "[0]: (top level): Input should be a valid dictionary")
case(R, "empty-list.yaml", "[]\n", 2, "the list of recommendations is empty")
case(R, "empty-mapping.yaml", "{}\n", 2, "token: Field required")
case(R, "recommendations-not-a-list.yaml", "recommendations: 5\n", 2, "expected a recommendation")
case(R, "recommendations-plus-extra.yaml", f"recommendations:\n- {{token: USDC, to_protocol: aave_v3, amount: '1'}}\nextra: 1\n", 2, "recommendations: unknown field")
case(R, "utf16.yaml", REC.encode("utf-16"), 2, "not UTF-8 text: byte 0xff at offset 0")
case(R, "latin1.yaml", f"{REC}reason: caf\xe9\n".encode("latin-1"), 2, "not UTF-8 text: byte 0xe9")
case(R, "invalid-utf8-continuation.yaml", REC.encode() + b"reason: \xc3\x28\n", 2, "not UTF-8 text: byte 0xc3")
case(R, "overlong-utf8.yaml", REC.encode() + b"reason: \xc0\xaf\n", 2, "not UTF-8 text: byte 0xc0")
case(R, "nul-byte.yaml", REC.encode() + b"reason: a\x00b\n", 2, "malformed YAML: character 0x00 at offset 81 is not allowed")
case(R, "control-char.yaml", REC.encode() + b"reason: a\x07b\n", 2, "malformed YAML: character 0x07 at offset 81 is not allowed")
case(R, "ansi-token.json", json.dumps({"to_protocol": "aave_v3", "token": "\x1b[31mUSDC", "amount": "1"}), 2, "unknown token on base '\\x1b[31mUSDC'")
case(R, "newline-token.json", json.dumps({"to_protocol": "aave_v3", "token": "USDC\nWarnings  none", "amount": "1"}), 2, "unknown token on base 'USDC\\nWarnings  none'")
case(R, "bidi-protocol.json", json.dumps({"to_protocol": "aave_v3\u202e", "token": "USDC", "amount": "1"}), 2, "to_protocol: unknown protocol 'aave_v3\\u202e'")
case(R, "alias-bomb.yaml", f"{REC}" + bomb(), 2, "YAML aliases (*a) are not allowed")
case(R, "alias.yaml", "token: &t USDC\nto_token: *t\nto_protocol: aave_v3\namount: '1'\n", 2, "YAML aliases (*t) are not allowed at line 2")
case(R, "alias-in-list.yaml", f"- &r {{token: USDC, to_protocol: aave_v3, amount: '1'}}\n- *r\n", 2, "YAML aliases (*r) are not allowed")
case(R, "merge-key.yaml", f"<<: {{token: USDC}}\nto_protocol: aave_v3\namount: '1'\n", 2, "YAML merge keys (<<) are not allowed")
case(R, "python-tag.yaml", f"{REC}reason: !!python/object/apply:os.system ['echo pwned']\n", 2, "YAML tag tag:yaml.org,2002:python/object/apply:os.system is not allowed")
case(R, "python-name-tag.yaml", f"{REC}reason: !!python/name:os.system ''\n", 2, "is not allowed")
case(R, "binary-tag.yaml", f"{REC}reason: !!binary aGVsbG8=\n", 2, "YAML tag tag:yaml.org,2002:binary is not allowed")
case(R, "set-tag.yaml", f"{REC}reason: !!set {{a, b}}\n", 2, "YAML tag tag:yaml.org,2002:set is not allowed")
case(R, "omap-tag.yaml", f"{REC}reason: !!omap [a: 1]\n", 2, "YAML tag tag:yaml.org,2002:omap is not allowed")
case(R, "local-tag.yaml", f"{REC}reason: !custom x\n", 2, "YAML tag !custom is not allowed")
case(R, "deep-flow-100.yaml", REC + deep_yaml(100), 2, "nested deeper than 64 levels")
case(R, "deep-flow-10000.yaml", REC + deep_yaml(10000), 2, "nested deeper than 64 levels")
case(R, "deep-block-100.yaml", deep_block(100), 2, "nested deeper than 64 levels")
case(R, "deep-dash-100.yaml", "- " * 100 + "x\n", 2, "nested deeper than 64 levels")
case(R, "deep-json-100000.json", '{"reason": ' + "[" * 100000 + "]" * 100000 + "}", 2, "nested deeper than 64 levels")
case(R, "deep-json-100.json", '{"reason": ' + "[" * 100 + "]" * 100 + "}", 2, "nested deeper than 64 levels")
case(R, "deep-json-unclosed.json", "{" * 50000, 2, "nested deeper than 64 levels")
case(R, "deep-json-objects.json", '{"a":' * 5000 + "1" + "}" * 5000, 2, "nested deeper than 64 levels")
case(R, "many-brackets-in-strings.json", json.dumps({"to_protocol": "aave_v3", "token": "USDC", "amount": "0", "reason": "[" * 5000}), 2, "amount must be positive")
case(R, "long-key.yaml", f"{REC}{'k' * 20000}: 1\n", 2, "malformed YAML")
case(R, "long-key.json", json.dumps({"token": "USDC", "to_protocol": "aave_v3", "amount": "1", "k" * 20000: 1}), 2, "unknown field")
case(R, "many-unknown-keys.yaml", REC + "".join(f"k{i}: {i}\n" for i in range(2000)), 2, "and 1995 more problems")
case(R, "huge-integer.yaml", f"{GOOD}amount: {'9' * 5000}\n", 2, "a number has more than 4,300 digits")
case(R, "huge-integer.json", '{"to_protocol": "aave_v3", "token": "USDC", "amount": ' + "9" * 5000 + "}", 2, "a number has more than 4,300 digits")
case(R, "amount-100-digits.yaml", f"{GOOD}amount: '{'1' * 101}'\n", 2, "has more than 100 digits")
case(R, "amount-over-uint256.yaml", f"{GOOD}amount: '{'9' * 80}'\n", 2, "is more than a uint256 holds")
case(R, "duplicate-amount.yaml", f"{REC}amount: '2000'\n", 2, "duplicate key 'amount' at line 5")
case(R, "duplicate-token.yaml", f"token: USDC\n{REC}", 2, "duplicate key 'token' at line 4")
case(R, "duplicate-in-list-item.yaml", "- {token: USDC, to_protocol: aave_v3, amount: '1', amount: '2'}\n", 2, "duplicate key 'amount'")
case(R, "duplicate-flow.yaml", "{token: USDC, token: WETH, to_protocol: aave_v3, amount: '1'}\n", 2, "duplicate key 'token'")
case(R, "duplicate.json", '{"token": "USDC", "to_protocol": "aave_v3", "amount": "1", "amount": "1000000"}', 2, "duplicate key 'amount'")
case(R, "duplicate-nested.json", '[{"token": "USDC", "to_protocol": "aave_v3", "amount": "1", "token": "WETH"}]', 2, "duplicate key 'token'")
case(R, "duplicate-null-key.yaml", f"{REC}~: 1\nnull: 2\n", 2, "duplicate key None")
case(R, "case-variant-key.yaml", f"{REC}Amount: '5'\n", 2, "Amount: unknown field; did you mean 'amount'?")
case(R, "mapping-key.yaml", f"{REC}? {{a: 1}}\n: 2\n", 2, "a mapping key must be a plain value, not a mapping")
case(R, "list-key.yaml", f"{REC}? [a]\n: 2\n", 2, "a mapping key must be a plain value, not a list")
case(R, "null-key.yaml", f"{REC}~: 1\n", 2, "None: Keys should be strings")
case(R, "integer-key.yaml", f"{REC}1: x\n", 2, "1: Keys should be strings")
case(R, "two-documents.yaml", f"{REC}---\n{REC}", 2, "more than one YAML document at line 5")
case(R, "document-end-then-junk.yaml", f"{REC}...\njunk: 1\n", 2, "malformed YAML")
for name, amount, message in [
    ("float-too-precise", "10.1234567", "amount 10.1234567 has more decimals than USDC (6)"),  # a YAML number is the exact Decimal written
    ("european", "'1.000,50'", NOT_PLAIN),
    ("commas", "'1,0,0,0'", NOT_PLAIN),
    ("thousands", "'1,000'", NOT_PLAIN),
    ("underscore-string", "'1_000'", NOT_PLAIN),
    ("underscore-int", "1_000", "number '1_000' at line 4 column 9 is not a plain decimal"),
    ("octal", "010", "number '010' at line 4 column 9 is not a plain decimal"),
    ("octal-0o", "0o10", NOT_PLAIN),
    ("hex", "0x10", "number '0x10' at line 4 column 9 is not a plain decimal"),
    ("hex-string", "'0x10'", NOT_PLAIN),
    ("sexagesimal", "1:30", "number '1:30' at line 4 column 9 is not a plain decimal"),
    ("exponent", "'1e3'", NOT_PLAIN),
    ("exponent-float", "1.0e+3", "number '1.0e+3' at line 4 column 9 is not a plain decimal"),
    ("negative", "'-5'", "amount must be positive, got -5"),
    ("negative-int", "-5", "amount must be positive, got -5"),
    ("zero", "'0'", "amount must be positive, got 0"),
    ("zero-decimals", "'0.000'", "amount must be positive, got 0.000"),
    ("nan", "'NaN'", NOT_PLAIN),
    ("nan-yaml", ".nan", "is not finite"),
    ("inf-string", "'Infinity'", NOT_PLAIN),
    ("inf-yaml", ".inf", "is not finite"),
    ("neg-inf-yaml", "-.inf", "is not finite"),
    ("bool", "true", "amount: must be a decimal string (e.g. '1000.50'), an int or a Decimal"),
    ("yes", "yes", "amount: must be a decimal string (e.g. '1000.50'), an int or a Decimal"),
    ("null", "null", "amount: must be a decimal string (e.g. '1000.50'), an int or a Decimal"),
    ("list", "[1]", "amount: must be a decimal string (e.g. '1000.50'), an int or a Decimal"),
    ("mapping", "{a: 1}", "amount: must be a decimal string (e.g. '1000.50'), an int or a Decimal"),
    ("too-precise", "'1.0000001'", "amount 1.0000001 has more decimals than USDC (6)"),
    ("arabic-digits", "'\u0661\u0660'", NOT_PLAIN),
    ("fullwidth-digits", "'\uff11\uff10'", NOT_PLAIN),
    ("with-symbol", "'1000 USDC'", NOT_PLAIN),
    ("dollar", "'$1000'", NOT_PLAIN),
    ("plus", "'+1000'", NOT_PLAIN),
    ("leading-dot", "'.5'", NOT_PLAIN),
    ("trailing-dot", "'5.'", NOT_PLAIN),
    ("two-dots", "'1.2.3'", NOT_PLAIN),
    ("inner-space", "'1 000'", NOT_PLAIN),
    ("nbsp", "'1\u00a0000'", NOT_PLAIN),
    ("hex-float", "'0x1p3'", NOT_PLAIN),
    ("timestamp", "2026-01-01", "amount: must be a decimal string (e.g. '1000.50'), an int or a Decimal"),
    ("empty", "''", NOT_PLAIN),
    ("words", "'ten'", NOT_PLAIN),
    ("all-caps-all-from-wallet", "'ALL'", "only allowed when withdrawing"),
]:
    text = (GOOD.replace("from_protocol: moonwell\n", "") if name == "all-caps-all-from-wallet" else GOOD) + f"amount: {amount}\n"
    case(R, f"amount-{name}.yaml", text, 2, message)
for name, extra, message in [
    ("typo-token", "toekn: USDC\n", "toekn: unknown field; did you mean 'token'?"),
    ("typo-amount", "amout: '1'\n", "amout: unknown field; did you mean 'amount'?"),
    ("typo-from", "from_protocl: aave_v3\n", "from_protocl: unknown field; did you mean 'from_protocol'?"),
    ("typo-slippage", "slipage_bps: 30\n", "slipage_bps: unknown field; did you mean 'slippage_bps'?"),
    ("typo-valid-for", "valid_fr: 5m\n", "valid_fr: unknown field; did you mean 'valid_for'?"),
    ("unknown", "colour: red\n", "colour: unknown field; known: amount, confidence"),
    ("confidence-word", "confidence: very\n", "confidence: Input should be a valid integer"),
    ("confidence-high", "confidence: 101\n", "confidence: Input should be less than or equal to 100"),
    ("confidence-negative", "confidence: -1\n", "confidence: Input should be greater than or equal to 0"),
    ("confidence-float", "confidence: 50.5\n", "confidence: must be a whole number from 0 to 100, got Decimal('50.5')"),
    ("slippage-high", "slippage_bps: 6000\n", "slippage_bps: Input should be less than or equal to 5000"),
    ("slippage-negative", "slippage_bps: -1\n", "slippage_bps: Input should be greater than or equal to 0"),
    ("slippage-string", "slippage_bps: lots\n", "slippage_bps: Input should be a valid integer"),
    ("apy-word", "expected_apy: high\n", "expected_apy: 'high' is not a decimal number"),
    ("apy-huge", "expected_apy: 2000000\n", "expected_apy: Input should be less than or equal to 1000000"),
    ("apy-below-minus-100", "expected_apy: '-100.5'\n", "expected_apy: Input should be greater than or equal to -100"),
    ("apy-comma", "expected_apy: '8,5'\n", "expected_apy: '8,5' is not a decimal number"),
    ("protocol-display-typo", "swap_venue: Uniswap V4\n", "swap_venue: unknown protocol 'Uniswap V4'; did you mean 'Uniswap V3'?"),
    ("apy-nan", "expected_apy: .nan\n", "is not finite"),
    ("valid-for-negative", "valid_for: -5\n", "valid_for must be positive"),
    ("valid-for-zero", "valid_for: 0\n", "valid_for must be positive"),
    ("valid-for-word", "valid_for: forever\n", "valid_for: Input should be a valid timedelta"),
    ("swap-venue", "swap_venue: sushiswap\n", "swap_venue: unknown protocol 'sushiswap'; did you mean 'Uniswap V3'? known: Aave V3 (aave_v3)"),
    ("reason-list", "reason: [a, b]\n", "reason: Input should be a valid string"),
    ("reason-number", "reason: 5\n", "reason: Input should be a valid string"),
]:
    case(R, f"field-{name}.yaml", REC + extra, 2, message)
for name, text, message in [
    ("missing-token", "to_protocol: aave_v3\namount: '10'\n", "token: Field required"),
    ("missing-amount", "to_protocol: aave_v3\ntoken: USDC\n", "amount: Field required"),
    ("token-number", "to_protocol: aave_v3\ntoken: 5\namount: '1'\n", "token: Input should be a valid string"),
    ("token-null", "to_protocol: aave_v3\ntoken: null\namount: '1'\n", "token: Input should be a valid string"),
    ("token-date", "to_protocol: aave_v3\ntoken: 2026-01-01\namount: '1'\n", "token: Input should be a valid string"),
    ("same-venue", "from_protocol: aave_v3\nto_protocol: aave_v3\ntoken: USDC\namount: '1'\n", "nothing to move"),
    ("nothing-to-move", "token: USDC\namount: '1'\n", "from_protocol and to_protocol are both empty"),
    ("unknown-protocol", "from_protocol: moonwel\nto_protocol: aave_v3\ntoken: USDC\namount: '1'\n", "from_protocol: unknown protocol 'moonwel'"),
    ("unknown-to-protocol", "to_protocol: compound\ntoken: USDC\namount: '1'\n", "to_protocol: unknown protocol 'compound'"),
    ("unknown-token", "to_protocol: aave_v3\ntoken: USDT\namount: '1'\n", "token: unknown token on base 'USDT'"),
    ("unknown-to-token", "to_protocol: aave_v3\ntoken: USDC\nto_token: WETH9\namount: '1'\n", "to_token: unknown token on base 'WETH9'"),
    ("moonwell-weth-exit", "from_protocol: moonwell\nto_protocol: aave_v3\ntoken: WETH\namount: '1'\n", "redeems to native ETH"),
    ("wallet-too-small", "to_protocol: aave_v3\ntoken: USDC\namount: '10000.000001'\n", "the wallet holds 10,000.00 USDC"),
    ("position-too-small", "from_protocol: aave_v3\nto_protocol: morpho\ntoken: USDC\namount: '5000.01'\n", "less than the 5,000.01 USDC to withdraw"),
    ("partial-lp-exit", "from_protocol: aerodrome\ntoken: USDC\namount: '100'\n", "a partial Aerodrome LP exit is not supported"),
    ("all-from-wallet", "to_protocol: aave_v3\ntoken: USDC\namount: all\n", "amount 'all' is only allowed when withdrawing"),
    ("more-decimals-than-weth", "to_protocol: aave_v3\ntoken: WETH\namount: '0.0000000000000000001'\n", "has more decimals than WETH (18)"),
    ("list-bad-second", f"- {{token: USDC, to_protocol: aave_v3, amount: '1'}}\n- {{token: USDC, to_protocol: aave_v3, amount: '0'}}\n", "[1].amount: amount must be positive"),
    ("list-with-scalar", f"- {{token: USDC, to_protocol: aave_v3, amount: '1'}}\n- oops\n", "[1]: (top level): Input should be a valid dictionary"),
    ("list-unknown-field", f"- {{token: USDC, to_protocol: aave_v3, amount: '1', amonut: '2'}}\n", "[0]: amonut: unknown field; did you mean 'amount'?"),
]:
    case(R, f"shape-{name}.yaml", text, 2, message)

# --- plans ---------------------------------------------------------------------------------------

P = "plans"


def plan_edit(name: str, code: int, message: str, *, reseal: bool = False, fmt: str = "yaml", run: list[str] | None = None,
              **ops: Any) -> None:
    spec: dict[str, Any] = {"base": "plan", "format": fmt, "reseal": reseal, **ops}
    case(P, f"{name}.edit.yaml", spec, code, message, **({"run": run} if run else {}))


case(P, "malformed.yaml", "format_version: 1.0.0\nsteps: [\n", 2, "malformed YAML")
case(P, "truncated.json", '{"format_version": "1.0.0", "chain": {"id": 8453', 2, "malformed JSON")
case(P, "empty.yaml", "", 2, "not a plan: expected a mapping at the top level")
case(P, "list.yaml", "- 1\n- 2\n", 2, "not a plan: expected a mapping at the top level")
case(P, "scalar.json", "42", 2, "not a plan: expected a mapping at the top level")
case(P, "utf16.yaml", "format_version: 1.0.0\n".encode("utf-16"), 2, "not UTF-8 text")
case(P, "alias.yaml", "format_version: &v 1.0.0\ncontent_hash: *v\n", 2, "YAML aliases (*v) are not allowed")
case(P, "bomb.yaml", "format_version: 1.0.0\n" + bomb(), 2, "YAML aliases (*a) are not allowed")
case(P, "deep.json", '{"format_version": "1.0.0", "steps": ' + "[" * 50000 + "]" * 50000 + "}", 2, "nested deeper than 64 levels")
case(P, "deep.yaml", "format_version: 1.0.0\nsteps: " + "[" * 1000 + "]" * 1000 + "\n", 2, "nested deeper than 64 levels")
case(P, "python-tag.yaml", "format_version: !!python/object/apply:os.getcwd []\n", 2, "is not allowed")
case(P, "no-version.yaml", "chain: {id: 8453}\n", 2, "format_version (missing) is not supported")
case(P, "version-3.yaml", "format_version: 3.0.0\n", 2, "format_version 3.0.0 is not supported")
case(P, "version-1.yaml", "format_version: 1.0.0\n", 2, "format_version 1.0.0 is not supported (this mammon reads 2.x)")  # APY as a fraction
case(P, "version-word.yaml", "format_version: latest\n", 2, "format_version latest is not supported")
plan_edit("duplicate-key-wallet", 2, "duplicate key 'wallet'", append="wallet: '0x0000000000000000000000000000000000000001'\n")
plan_edit("duplicate-key-json", 2, "duplicate key 'content_hash'", fmt="json", append_json_key=["content_hash", "sha256:00"])
plan_edit("unknown-top-field", 2, "approved: unknown field", set={"approved": True})
plan_edit("typo-top-field", 2, "walet: unknown field; did you mean 'wallet'?", rename={"wallet": "walet"})
plan_edit("typo-step-field", 2, "steps.0.dependson: unknown field; did you mean 'depends_on'?", rename={"steps.0.depends_on": "dependson"})
plan_edit("typo-call-value", 2, "steps.1.call.vaule: unknown field; did you mean 'value'?", rename={"steps.1.call.value": "vaule"})
plan_edit("extra-step-field", 2, "steps.1.approve_everything: unknown field", set={"steps.1.approve_everything": True})
plan_edit("missing-steps", 2, "steps: Field required", delete=["steps"])
plan_edit("missing-wallet", 2, "wallet: Field required", delete=["wallet"])
plan_edit("hash-missing", 2, "content_hash mismatch: the file says (none)", delete=["content_hash"])
plan_edit("hash-zeroed", 2, "content_hash mismatch", set={"content_hash": "sha256:" + "0" * 64})
plan_edit("edited-not-resealed-to", 2, "content_hash mismatch", set={"steps.2.call.to": "0x1111111111111111111111111111111111111111"})
plan_edit("edited-not-resealed-amount", 2, "content_hash mismatch", set={"recommendations.0.amount": "999999"})
plan_edit("edited-not-resealed-value", 2, "content_hash mismatch", set={"steps.2.call.value": "1000000000000000000"})
plan_edit("edited-not-resealed-reason", 2, "content_hash mismatch", set={"recommendations.0.reason": "ok\nWarnings  none"})
plan_edit("zero-wallet", 2, "wallet: Value error, 0x0000000000000000000000000000000000000000 is the zero address".replace("Value error, ", ""),
          reseal=True, set={"wallet": "0x0000000000000000000000000000000000000000"})
plan_edit("wallet-bad-checksum", 2, "has a bad EIP-55 checksum", reseal=True, set={"wallet": "0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266"})
plan_edit("wallet-short", 2, "is not a 0x-prefixed 20-byte hex address", reseal=True, set={"wallet": "0x1234"})
plan_edit("wallet-number", 2, "wallet: Input should be a valid string", reseal=True, set={"wallet": 5})
plan_edit("to-not-address", 2, "steps.0.call.to", reseal=True, set={"steps.0.call.to": "moonwell"})
plan_edit("data-odd-hex", 2, "steps.0.call.data: Value error, not 0x-prefixed hex bytes".replace("Value error, ", ""), reseal=True,
          set={"steps.0.call.data": "0x123"})
plan_edit("data-not-hex", 2, "not 0x-prefixed hex bytes", reseal=True, set={"steps.0.call.data": "0xzz"})
plan_edit("value-negative-text", 2, "steps.0.call.value", reseal=True, set={"steps.0.call.value": "-"})
plan_edit("value-float", 2, "expected an integer in base units", reseal=True, set={"steps.0.call.value": 1.5})
plan_edit("value-exponent", 2, "expected an integer in base units", reseal=True, set={"steps.0.call.value": "1e18"})
plan_edit("value-commas", 2, "expected an integer in base units", reseal=True, set={"steps.0.call.value": "1,000"})
plan_edit("gas-negative", 2, "steps.0.gas.estimate: Input should be greater than or equal to 0", reseal=True, set={"steps.0.gas.estimate": -1})
plan_edit("gas-source", 2, "steps.0.gas.source: Input should be 'static' or 'node'", reseal=True, set={"steps.0.gas.source": "guess"})
plan_edit("step-kind", 2, "steps.0.kind: Input should be", reseal=True, set={"steps.0.kind": "transfer"})
plan_edit("depends-on-unknown", 2, "", reseal=True, set={"steps.2.depends_on": ["nowhere"]})
plan_edit("depends-on-cycle", 2, "", reseal=True, set={"steps.0.depends_on": ["deposit"]})
plan_edit("duplicate-step-ids", 2, "", reseal=True, set={"steps.1.id": "withdraw"})
plan_edit("steps-null", 2, "steps: Input should be a valid list", reseal=True, set={"steps": None})
plan_edit("steps-not-list", 2, "steps: Input should be a valid list", reseal=True, set={"steps": {"a": 1}})
plan_edit("created-not-time", 2, "created_at: Input should be a valid datetime", reseal=True, set={"created_at": "yesterday"})
plan_edit("valid-until-past", 2, "valid_until", reseal=True, set={"valid_until": "2025-01-01T00:00:00Z"})
plan_edit("chain-id-word", 2, "chain.id: Input should be a valid integer", reseal=True, set={"chain.id": "base"})
plan_edit("chain-id-other", 2, "", reseal=True, set={"chain.id": 84532})
plan_edit("slippage-huge", 2, "policy.slippage_bps: Input should be less than or equal to 5000", reseal=True, set={"policy.slippage_bps": 100000})
plan_edit("tolerance-kind", 2, "Input should be 'exact', 'wei', 'bps' or 'min_out'", reseal=True, set={"steps.0.effects.0.tolerance.kind": "any"})
plan_edit("precondition-op", 2, "preconditions.0.op", reseal=True, set={"preconditions.0.op": "gt"})
plan_edit("data-flipped-resealed", 2, "", reseal=True, flip_data={"step": 2, "byte": 40})
plan_edit("selector-flipped-resealed", 2, "", reseal=True, flip_data={"step": 2, "byte": 0})
plan_edit("view-edited-resealed", 2, "", reseal=True, set={"steps.2.decoded.args.2.value": "0x1111111111111111111111111111111111111111"})
plan_edit("gas-price-nan", 2, "market.gas_price_gwei: Input should be a finite number", reseal=True, set={"market.gas_price_gwei": "NaN"})
plan_edit("amount-european-resealed", 2, NOT_PLAIN, reseal=True, set={"recommendations.0.amount": "1.000,50"}, run=APPLY_PLAN)
plan_edit("show-duplicate-key", 2, "duplicate key 'wallet'", append="wallet: '0x0000000000000000000000000000000000000001'\n", run=SHOW)
plan_edit("show-unknown-field", 2, "unknown field; did you mean 'notes'?", rename={"notes": "nots"}, run=SHOW)
plan_edit("apply-tampered", 2, "content_hash mismatch", set={"steps.2.call.to": "0x1111111111111111111111111111111111111111"}, run=APPLY_PLAN)
plan_edit("apply-zero-wallet", 2, "is the zero address", reseal=True, set={"wallet": "0x0000000000000000000000000000000000000000"}, run=APPLY_PLAN)

# --- chain configs ------------------------------------------------------------------------------

C = "chains"


def chain_edit(name: str, code: int, message: str, **ops: Any) -> None:
    case(C, f"{name}.edit.yaml", {"base": "chain", "format": "yaml", **ops}, code, message)


case(C, "malformed.yaml", "name: myfork\ntokens: [\n", 2, "malformed YAML")
case(C, "empty.yaml", "", 2, "Input should be a valid dictionary")
case(C, "list.yaml", "- myfork\n", 2, "Input should be a valid dictionary")
case(C, "not-utf8.yaml", b"name: my\xfffork\n", 2, "not UTF-8 text")
case(C, "deep.yaml", "name: myfork\ninfra: " + "{a: " * 200 + "1" + "}" * 200 + "\n", 2, "nested deeper than 64 levels")
case(C, "alias.yaml", "name: &n myfork\nrpc_url: *n\n", 2, "YAML aliases (*n) are not allowed")
case(C, "deep.json", '{"name": "myfork", "infra": ' + "[" * 50000 + "]" * 50000 + "}", 2, "nested deeper than 64 levels")
chain_edit("missing-name", 2, "name: Field required", delete=["name"])
chain_edit("missing-tokens", 2, "tokens: Field required", delete=["tokens"])
chain_edit("chain-id-zero", 2, "chain_id: Input should be greater than 0", set={"chain_id": 0})
chain_edit("chain-id-word", 2, "chain_id: Input should be a valid integer", set={"chain_id": "base"})
chain_edit("chain-id-octal", 2, "number '010' at line", raw_replace=["chain_id: 8453", "chain_id: 010"])
chain_edit("token-bad-checksum", 2, "tokens.0.address: 0x833589fcd6eDb6E08f4c7C32D4f71b54bdA02913 has a bad EIP-55 checksum",
           set={"tokens.0.address": "0x833589fcd6eDb6E08f4c7C32D4f71b54bdA02913"})
chain_edit("token-not-address", 2, "tokens.0.address", set={"tokens.0.address": "USDC"})
chain_edit("token-decimals-huge", 2, "tokens.0.decimals: Input should be less than or equal to 36", set={"tokens.0.decimals": 77})
chain_edit("token-decimals-negative", 2, "tokens.0.decimals: Input should be greater than or equal to 0", set={"tokens.0.decimals": -1})
chain_edit("token-unknown-field", 2, "adress: unknown key; did you mean 'address'?", rename={"tokens.0.address": "adress"})
chain_edit("token-twice", 2, "token USDC listed twice", set={"tokens.1.symbol": "USDC"})
chain_edit("tokens-not-list", 2, "tokens: Input should be a valid list", set={"tokens": "USDC"})
chain_edit("duplicate-name", 2, "duplicate key 'name'", append="name: other\n")
chain_edit("duplicate-token-key", 2, "duplicate key 'symbol'", raw_replace=["- symbol: USDC\n", "- symbol: USDC\n  symbol: USDT\n"])
chain_edit("aave-pool-bad", 2, "protocols.aave_v3", set={"protocols.aave_v3.pool": "0x1234"})
chain_edit("aave-missing-pool", 2, "protocols.aave_v3", delete=["protocols.aave_v3.pool"])
chain_edit("moonwell-market-checksum", 2, "bad EIP-55 checksum", set={"protocols.moonwell.markets.USDC": "0xedc817A28E8B93B03976FBd4a3dDBc9f7D176c22"})
chain_edit("protocols-not-mapping", 2, "protocols: Input should be a valid dictionary", set={"protocols": ["aave_v3"]})
chain_edit("name-other", 2, "--chain: unknown chain 'myfork'", set={"name": "myfrok"})
chain_edit("huge-chain-id", 2, "a number has more than 4,300 digits", raw_replace=["chain_id: 8453", "chain_id: " + "9" * 5000])

# --- worlds / prices --------------------------------------------------------------------------

W = "worlds"


def world_edit(name: str, code: int, message: str, run: list[str] | None = None, **ops: Any) -> None:
    case(W, f"{name}.edit.yaml", {"base": "world", "format": "yaml", **ops}, code, message, **({"run": run} if run else {}))


case(W, "malformed.yaml", "prices_usd: {USDC: 1\n", 2, "malformed YAML at line 2")
case(W, "empty.yaml", "", 2, "Input should be a valid dictionary")
case(W, "scalar.yaml", "cheap\n", 2, "Input should be a valid dictionary")
case(W, "not-utf8.yaml", b"prices_usd: {USDC: \xff}\n", 2, "not UTF-8 text: byte 0xff at offset 19")
case(W, "bomb.yaml", bomb() + "prices_usd: {USDC: '1'}\n", 2, "YAML aliases (*a) are not allowed")
case(W, "deep.json", '{"prices_usd": ' + "[" * 50000 + "]" * 50000 + "}", 2, "nested deeper than 64 levels")
case(W, "deep.yaml", "venues: " + "{a: " * 100 + "1" + "}" * 100 + "\n", 2, "nested deeper than 64 levels")
case(W, "missing-prices.yaml", "gas_price_gwei: '0.01'\n", 2, "prices_usd: Field required")
world_edit("typo-prices", 2, "pricez: unknown field; did you mean 'prices_usd'?", rename={"prices_usd": "pricez"})
world_edit("typo-gas", 2, "gas_price: unknown field; did you mean 'gas_price_gwei'?", rename={"gas_price_gwei": "gas_price"})
world_edit("typo-portfolio", 2, "portfolio.walet: unknown field; did you mean 'wallet'?", rename={"portfolio.wallet": "walet"})
world_edit("typo-positions", 2, "portfolio.position: unknown field; did you mean 'positions'?", rename={"portfolio.positions": "position"})
world_edit("duplicate-gas", 2, "duplicate key 'gas_price_gwei'", append="gas_price_gwei: '100'\n")
world_edit("duplicate-price", 2, "duplicate key 'USDC'", raw_replace=["  USDC: '1'\n", "  USDC: '1'\n  USDC: '2'\n"])
world_edit("gas-european", 2, "gas_price_gwei: number '0,01' is not a plain decimal", set={"gas_price_gwei": "0,01"})
world_edit("gas-exponent", 2, "gas_price_gwei: number '1e-2' is not a plain decimal", set={"gas_price_gwei": "1e-2"})
world_edit("gas-underscore", 2, "gas_price_gwei: number '1_0' is not a plain decimal", set={"gas_price_gwei": "1_0"})
world_edit("gas-zero", 2, "gas_price_gwei: Input should be greater than 0", set={"gas_price_gwei": "0"})
world_edit("gas-negative", 2, "gas_price_gwei: Input should be greater than 0", set={"gas_price_gwei": "-1"})
world_edit("gas-nan", 2, "gas_price_gwei: number 'NaN' is not a plain decimal", set={"gas_price_gwei": "NaN"})
world_edit("gas-huge", 2, "gas_price_gwei: Input should be less than or equal to 1000000", set={"gas_price_gwei": 2**300})
world_edit("price-huge", 2, "prices_usd.ETH: Input should be less than or equal to 1000000000000", set={"prices_usd.ETH": "9" * 90})
world_edit("price-negative", 2, "prices_usd.ETH: Input should be greater than or equal to 0", set={"prices_usd.ETH": "-1"})
world_edit("gas-bool", 2, "gas_price_gwei", set={"gas_price_gwei": True})
world_edit("gas-inf-yaml", 2, "is not finite", raw_replace=["gas_price_gwei: '0.01'", "gas_price_gwei: .inf"])
world_edit("price-thousands", 2, "prices_usd.WETH: number '3,000' is not a plain decimal", set={"prices_usd.WETH": "3,000"})
world_edit("price-word", 2, "prices_usd.WETH: number 'cheap' is not a plain decimal", set={"prices_usd.WETH": "cheap"})
world_edit("price-list", 2, "prices_usd.WETH", set={"prices_usd.WETH": [1]})
world_edit("holding-european", 2, NOT_PLAIN, set={"portfolio.wallet.USDC": "10.000,00"})
world_edit("holding-commas", 2, NOT_PLAIN, set={"portfolio.wallet.USDC": "10,000"})
world_edit("holding-number", 2, "portfolio.wallet.USDC: Input should be a valid string", set={"portfolio.wallet.USDC": 10000})
world_edit("position-european", 2, NOT_PLAIN, set={"portfolio.positions.moonwell.USDC": "5.000,5"})
world_edit("holdings-bad-address", 2, "holdings", set={"holdings": {"0x1234": {}}})
world_edit("allowance-bad-spender", 2, "portfolio.allowances.0.spender", set={"portfolio.allowances": [{"token": "USDC", "spender": "0x12", "amount": "1"}]})
world_edit("allowance-unknown-field", 2, "portfolio.allowances.0.owner: unknown field", set={"portfolio.allowances": [{"token": "USDC", "spender": WALLET, "amount": "1", "owner": "x"}]})
world_edit("venue-state-typo", 2, "venue-state-typo.yaml: venues.moonwell: market: unknown field; did you mean 'markets'?", rename={"venues.moonwell.markets": "market"})
world_edit("venue-state-bad-rate", 2, "venue-state-bad-rate.yaml: venues.moonwell: markets.USDC.exchange_rate: expected an integer", set={"venues.moonwell.markets.USDC.exchange_rate": "0.02"})
world_edit("venue-typo", 2, "venue-typo.yaml: venues.moonwel: unknown venue 'moonwel'; did you mean 'moonwell'?", rename={"venues.moonwell": "moonwel"})
world_edit("sim-venue-typo", 2, "sim-venue-typo.yaml: venues.aave: unknown venue 'aave'; did you mean 'aave_v3'?", rename={"venues.aave_v3": "aave"},
           run=WORLD_APPLY)
world_edit("sim-unknown-venue", 2, "sim-unknown-venue.yaml: venues.compound: unknown venue 'compound'", set={"venues.compound": {}}, run=WORLD_APPLY)
world_edit("sim-typo", 2, "pricez: unknown field; did you mean 'prices_usd'?", rename={"prices_usd": "pricez"}, run=WORLD_APPLY)
world_edit("sim-duplicate", 2, "duplicate key 'gas_price_gwei'", append="gas_price_gwei: '100'\n", run=WORLD_APPLY)
world_edit("sim-holding-european", 2, NOT_PLAIN, set={"portfolio.wallet.USDC": "10.000,00"}, run=WORLD_APPLY)
world_edit("sim-liquidity-index-zero", 2, "liquidity_index", set={"venues.aave_v3.reserves.USDC.liquidity_index": "0"}, run=WORLD_APPLY)
case(W, "sim-deep.json", '{"prices_usd": ' + "[" * 50000 + "]" * 50000 + "}", 2, "nested deeper than 64 levels", run=WORLD_APPLY)
case(W, "sim-not-utf8.yaml", b"prices_usd: {USDC: \xff}\n", 2, "not UTF-8 text", run=WORLD_APPLY)

# --- policies ----------------------------------------------------------------------------------

PO = "policies"
case(PO, "malformed.toml", "[policy\nmax_slippage_bps = 10\n", 2, "malformed TOML")
case(PO, "not-utf8.toml", b"[policy]\nregistry_only = true # \xff\n", 2, "not UTF-8 text")
case(PO, "duplicate-key.toml", "[policy]\nmax_slippage_bps = 10\nmax_slippage_bps = 5000\n", 2, "malformed TOML")
case(PO, "duplicate-table.toml", "[policy]\nmax_slippage_bps = 10\n[policy]\nregistry_only = false\n", 2, "malformed TOML")
case(PO, "deep-array.toml", "[policy]\nallowed_contracts = " + "[" * 10000 + "]" * 10000 + "\n", 2, "nested deeper than 64 levels")
case(PO, "deep-inline.toml", "[policy]\nx = " + "{a = " * 200 + "1" + "}" * 200 + "\n", 2, "nested deeper than 64 levels")
case(PO, "unknown-key.toml", "[policy]\nmax_spend_per_plna = {USDC = \"1\"}\n", 2, "max_spend_per_plna: unknown field; did you mean 'max_spend_per_plan'?")
case(PO, "unknown-key-far.toml", "[policy]\ncolour = \"red\"\n", 2, "colour: unknown field")
case(PO, "slippage-string.toml", "[policy]\nmax_slippage_bps = \"lots\"\n", 2, "max_slippage_bps: Input should be a valid integer")
case(PO, "slippage-negative.toml", "[policy]\nmax_slippage_bps = -1\n", 2, "max_slippage_bps: Input should be greater than or equal to 0")
case(PO, "slippage-huge.toml", "[policy]\nmax_slippage_bps = 100000\n", 2, "max_slippage_bps: Input should be less than or equal to 10000")
case(PO, "slippage-below-plan.toml", "[policy]\nmax_slippage_bps = 1\n", 2, "exceeds max_slippage_bps 1")
case(PO, "spend-european.toml", "[policy]\nmax_spend_per_plan = {USDC = \"1.000,50\"}\n", 2, NOT_PLAIN)
case(PO, "spend-commas.toml", "[policy]\nmax_spend_per_plan = {USDC = \"1,0,0,0\"}\n", 2, NOT_PLAIN)
case(PO, "spend-exponent.toml", "[policy]\nmax_spend_per_plan = {USDC = \"1e3\"}\n", 2, NOT_PLAIN)
case(PO, "spend-number.toml", "[policy]\nmax_spend_per_plan = {USDC = 1000}\n", 2, "max_spend_per_plan.USDC: Input should be a valid string")
case(PO, "spend-below-plan.toml", "[policy]\nmax_spend_per_plan = {USDC = \"999.99\"}\n", 2, "above max_spend_per_plan 999.99 USDC")
case(PO, "spend-day-below-plan.toml", "[policy]\nmax_spend_per_day = {USDC = \"10\"}\n", 2, "above max_spend_per_day 10 USDC")
case(PO, "day-european.toml", "[policy]\nmax_spend_per_day = {USDC = \"1.000,50\"}\n", 2,
     "day-european.toml: [policy]: max_spend_per_day.USDC: amount '1.000,50' is not a plain decimal")
case(PO, "spend-unknown-token.toml", "[policy]\nmax_spend_per_plan = {USDX = \"5\"}\n", 2,
     "spend-unknown-token.toml: [policy]: max_spend_per_plan: unknown token 'USDX'; did you mean 'USDC'?")
case(PO, "allowed-not-address.toml", "[policy]\nallowed_contracts = [\"aave\"]\n", 2, "allowed_contracts.0")
case(PO, "allowed-bad-checksum.toml", "[policy]\nallowed_contracts = [\"0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266\"]\n", 2, "bad EIP-55 checksum")
case(PO, "registry-only-string.toml", "[policy]\nregistry_only = \"maybe\"\n", 2, "registry_only: Input should be a valid boolean")
case(PO, "policy-not-table.toml", "policy = 5\n", 2, "Input should be a valid dictionary")
case(PO, "missing.toml", None, 2, "policy file not found")  # type: ignore[arg-type]
case(PO, "huge-integer.toml", "[policy]\nmax_slippage_bps = " + "9" * 5000 + "\n", 2, "TOML")

# --- keys ----------------------------------------------------------------------------------------

K = "keys"
KEY_ENV_RUN = ["apply", "{plan}", "--runner", "rpc", "--rpc-url", "http://127.0.0.1:9", "--yes", "--state-dir", "{state}", "-o", "{out}/run.json"]
case(K, "not-json.json", "not json at all", 2, "malformed JSON")
case(K, "empty.json", "", 2, "malformed JSON")
case(K, "list.json", "[1, 2]", 2, "not an encrypted JSON keystore (no 'crypto' section)")
case(K, "no-crypto.json", '{"address": "f39fd6e51aad88f6f4ce6ab8827279cfffb92266", "version": 3}', 2, "no 'crypto' section")
case(K, "crypto-string.json", '{"crypto": "secret", "version": 3}', 2, "no 'crypto' section")
case(K, "deep.json", '{"crypto": ' + "[" * 50000 + "]" * 50000 + "}", 2, "nested deeper than 64 levels")
case(K, "duplicate-crypto.json", '{"crypto": {}, "crypto": {"cipher": "x"}}', 2, "duplicate key 'crypto'")
case(K, "not-utf8.json", b'{"crypto": "\xff"}', 2, "not UTF-8 text")
case(K, "bad-kdf.json", json.dumps({"version": 3, "crypto": {"cipher": "aes-128-ctr", "kdf": "rot13", "ciphertext": "00", "mac": "00",
                                     "cipherparams": {"iv": "00"}, "kdfparams": {}}}), 2, "cannot decrypt the keystore", env={"MAMMON_KEYSTORE_PASSWORD": "x"})
case(K, "no-password.json", json.dumps({"version": 3, "crypto": {"cipher": "aes-128-ctr"}}), 2, "set MAMMON_KEYSTORE_PASSWORD")
case(K, "missing.json", None, 2, "keystore file not found")  # type: ignore[arg-type]
for name, value, message in [
    ("short", "0x1234", "not a private key"),
    ("not-hex", "0x" + "zz" * 32, "not a private key"),
    ("zero", "0x" + "00" * 32, "not a valid secp256k1 private key"),
    ("over-order", "0x" + "ff" * 32, "not a valid secp256k1 private key"),
    ("with-newline", "0x" + "11" * 31 + "\n11", "not a private key"),
    ("mnemonic-words", "test test test", "not a private key"),
    ("spaces", " " * 10, "not a private key"),
]:
    case(K, f"env-{name}.key", value, 2, message, run=KEY_ENV_RUN, env={"MAMMON_PRIVATE_KEY": "{text}"})

# --- command-line arguments ---------------------------------------------------------------------

CL = "cli"
EX = "{example}"
for name, args, message, env in [
    ("wallet-zero", ["plan", EX, "--wallet", "0x" + "0" * 40], "--wallet: 0x0000000000000000000000000000000000000000 is the zero address", {}),
    ("wallet-zero-rpc", ["plan", EX, "--wallet", "0x" + "0" * 40, "--rpc", "http://127.0.0.1:9"], "--wallet: 0x0000000000000000000000000000000000000000 is the zero address", {}),
    ("wallet-short", ["plan", EX, "--wallet", "0x1234"], "--wallet: '0x1234' is not a 0x-prefixed 20-byte hex address", {}),
    ("wallet-checksum", ["plan", EX, "--wallet", "0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266"], "has a bad EIP-55 checksum", {}),
    ("wallet-ens", ["plan", EX, "--wallet", "vitalik.eth"], "is not a 0x-prefixed 20-byte hex address", {}),
    ("wallet-newline", ["plan", EX, "--wallet", WALLET + "\n"], "--wallet: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\\n' is not a 0x-prefixed 20-byte hex address", {}),
    ("wallet-env-zero", ["plan", EX], "is the zero address", {"MAMMON_WALLET": "0x" + "0" * 40}),
    ("wallet-missing", ["plan", EX], "Missing option '--wallet'", {}),
    ("chain-unknown", ["plan", EX, "--wallet", WALLET, "--chain", "bsae"], "--chain: unknown chain 'bsae'; did you mean 'base'?", {}),
    ("chain-space", ["plan", EX, "--wallet", WALLET, "--chain", "ba se"], "--chain: unknown chain 'ba se'", {}),
    ("gas-negative", ["plan", EX, "--wallet", WALLET, "--gas-price-gwei", "-1"], "--gas-price-gwei: must be positive, got -1", {}),
    ("gas-huge", ["plan", EX, "--wallet", WALLET, "--gas-price-gwei", "9" * 90], "gwei is more than 1,000,000 gwei: not a gas price", {}),
    ("gas-zero", ["plan", EX, "--wallet", WALLET, "--gas-price-gwei", "0"], "--gas-price-gwei: must be positive, got 0", {}),
    ("gas-exponent", ["plan", EX, "--wallet", WALLET, "--gas-price-gwei", "1e3"], "--gas-price-gwei: gas price '1e3' is not a plain decimal", {}),
    ("gas-comma", ["plan", EX, "--wallet", WALLET, "--gas-price-gwei", "0,5"], "gas price '0,5' is not a plain decimal", {}),
    ("gas-underscore", ["plan", EX, "--wallet", WALLET, "--gas-price-gwei", "1_0"], "gas price '1_0' is not a plain decimal", {}),
    ("gas-nan", ["plan", EX, "--wallet", WALLET, "--gas-price-gwei", "NaN"], "gas price 'NaN' is not a plain decimal", {}),
    ("gas-inf", ["plan", EX, "--wallet", WALLET, "--gas-price-gwei", "inf"], "gas price 'inf' is not a plain decimal", {}),
    ("gas-word", ["plan", EX, "--wallet", WALLET, "--gas-price-gwei", "cheap"], "gas price 'cheap' is not a plain decimal", {}),
    ("format-unknown", ["plan", EX, "--wallet", WALLET, "--format", "toml"], "Invalid value for '--format'", {}),
    ("unknown-option", ["plan", EX, "--wallet", WALLET, "--colour"], "No such option '--colour'", {}),
    ("unknown-option-typo", ["plan", EX, "--walet", WALLET], "No such option '--walet'. Did you mean '--wallet'?", {}),
    ("unknown-command", ["shwo", "x"], "No such command 'shwo'. Did you mean 'show'?", {}),
    ("missing-argument", ["show"], "Missing argument 'PLAN'", {}),
    ("extra-argument", ["show", "{plan}", "extra"], "Got unexpected extra argument (extra)", {}),
    ("show-format", ["show", "{plan}", "--format", "html"], "Invalid value for '--format'", {}),
    ("show-missing-file", ["show", "{out}/nope.yaml"], "file not found", {}),
    ("show-directory", ["show", "{state}"], "is a directory", {}),
    ("validate-dev-zero", ["validate", "/dev/zero"], "larger than 4096 KiB", {}),
    ("prices-missing", ["plan", EX, "--wallet", WALLET, "--prices", "{out}/nope.yaml"], "file not found", {}),
    ("chain-config-missing", ["plan", EX, "--wallet", WALLET, "--chain-config", "{out}/nope.yaml"], "file not found", {}),
    ("runner-unknown", ["apply", "{plan}", "--runner", "simm", "--state-dir", "{state}"], "--runner: unknown runner 'simm'; did you mean 'sim'?", {}),
    ("confirmations-negative", ["apply", "{plan}", "--confirmations", "-1"], "Invalid value for '--confirmations'", {}),
    ("confirmations-word", ["apply", "{plan}", "--confirmations", "many"], "Invalid value for '--confirmations'", {}),
    ("rpc-without-url", ["apply", "{plan}", "--runner", "rpc", "--yes", "--state-dir", "{state}"], "the rpc runner needs a node", {"ETH_RPC_URL": ""}),
    ("rpc-without-key", ["apply", "{plan}", "--runner", "rpc", "--rpc-url", "http://127.0.0.1:9", "--yes", "--state-dir", "{state}"], "no signing key", {}),
    ("rpc-without-yes", ["apply", "{plan}", "--runner", "rpc", "--rpc-url", "http://127.0.0.1:9", "--state-dir", "{state}"], "", {}),
    ("world-missing", ["apply", "{plan}", "--world", "{out}/nope.yaml", "--state-dir", "{state}"], "file not found", {}),
    ("policy-missing", ["apply", "{plan}", "--policy", "{out}/nope.toml", "--state-dir", "{state}"], "policy file not found", {}),
    ("now-word", ["plan", EX, "--wallet", WALLET], "MAMMON_NOW: 'yesterday' is not an ISO 8601 time", {"MAMMON_NOW": "yesterday"}),
    ("now-empty", ["plan", EX, "--wallet", WALLET], "MAMMON_NOW", {"MAMMON_NOW": "2026-13-01T00:00:00Z"}),
    ("diff-missing-record", ["diff", "{plan}", "{out}/nope.json"], "file not found", {}),
    ("devnet-port-zero", ["devnet", "up", "--port", "0"], "Invalid value for '--port'", {}),
    ("devnet-fund-zero", ["devnet", "up", "--port", "1", "--fund", "0x" + "0" * 40, "--state-dir", "{state}"], "--fund: 0x0000000000000000000000000000000000000000 is the zero address", {}),
    ("devnet-fund-short", ["devnet", "up", "--port", "1", "--fund", "0x12", "--state-dir", "{state}"], "--fund: '0x12' is not", {}),
    ("stop-state-is-file", ["stop", "--state-dir", "{plan}"], "", {}),
    # files named by environment variables are read with the same limits
    ("env-devnet-config-missing", ["plan", EX, "--wallet", WALLET, "--chain", "devnet"], "", {"MAMMON_DEVNET_CONFIG": "{out}/nope.yaml"}),
    ("env-devnet-config-deep", ["plan", EX, "--wallet", WALLET, "--chain", "devnet"], "nested deeper than 64 levels",
     {"MAMMON_DEVNET_CONFIG": "{corpus}/chains/deep.json"}),
    ("env-devnet-config-alias", ["plan", EX, "--wallet", WALLET, "--chain", "devnet"], "YAML aliases (*n) are not allowed",
     {"MAMMON_DEVNET_CONFIG": "{corpus}/chains/alias.yaml"}),
    ("env-chain-config-deep", ["plan", EX, "--wallet", WALLET], "nested deeper than 64 levels", {"MAMMON_CHAIN_CONFIG": "{corpus}/chains/deep.json"}),
    ("env-chain-config-not-utf8", ["plan", EX, "--wallet", WALLET], "not UTF-8 text", {"MAMMON_CHAIN_CONFIG": "{corpus}/chains/not-utf8.yaml"}),
    ("env-chain-config-missing", ["plan", EX, "--wallet", WALLET], "", {"MAMMON_CHAIN_CONFIG": "{out}/nope.yaml"}),
]:
    case(CL, f"{name}.args.yaml", {"args": args, "env": env}, 2, message)

# --- state files ----------------------------------------------------------------------------------
# The state directory (stop flag, wallet lock, daily spend, audit log) is written by mammon itself; these
# cases put something else where it expects a directory or a file.

S = "state"
case(S, "state-dir-is-a-file.txt", "not a directory\n", 2, "", run=["apply", "{plan}", "--state-dir", "{file}", "-o", "{out}/run.json"])
case(S, "stop-state-dir-is-a-file.txt", "not a directory\n", 2, "", run=["stop", "--state-dir", "{file}"])
case(S, "apply-on-garbled-audit-log.jsonl", "not json\n", 1, "audit.jsonl: line 1 is not JSON (edited)", target="audit.jsonl")
case(S, "apply-on-deep-audit-log.jsonl", "[" * 50000 + "]" * 50000 + "\n", 1, "audit.jsonl: line 1 is not JSON (edited)", target="audit.jsonl")
case(S, "audit-state-dir-is-a-file.txt", "not a directory\n", 2, "", run=["audit", "verify", "--state-dir", "{file}"])

# --- run records ----------------------------------------------------------------------------------

RR = "records"


def record_edit(name: str, code: int, message: str, run: list[str] | None = None, **ops: Any) -> None:
    case(RR, f"{name}.edit.yaml", {"base": "record", "format": "json", **ops}, code, message, **({"run": run} if run else {}))


case(RR, "malformed.json", '{"plan_hash": "sha256:', 2, "malformed JSON")
case(RR, "empty.json", "", 2, "malformed JSON")
case(RR, "list.json", "[]", 2, "not a run record: expected a JSON object")
case(RR, "scalar.json", '"ok"', 2, "not a run record")
case(RR, "deep.json", '{"steps": ' + "[" * 50000 + "]" * 50000 + "}", 2, "nested deeper than 64 levels")
case(RR, "not-utf8.json", b'{"runner": "\xfe"}', 2, "not UTF-8 text: byte 0xfe")
case(RR, "nan.json", '{"chain_id": NaN}', 2, "NaN is not a JSON number")
case(RR, "resume-malformed.json", '{"plan_hash": ', 2, "malformed JSON", run=RESUME)
case(RR, "resume-deep.json", "[" * 50000 + "]" * 50000, 2, "nested deeper than 64 levels", run=RESUME)
record_edit("duplicate-key", 2, "duplicate key 'status'", append_json_key=["status", "ok"])
record_edit("unknown-field", 2, "stauts: unknown field; did you mean 'status'?", rename={"status": "stauts"})
record_edit("unknown-step-field", 2, "steps.0.gas_usd: unknown field; did you mean 'gas_used'?", rename={"steps.0.gas_used": "gas_usd"})
record_edit("status-unknown", 2, "status: Input should be", set={"status": "great"})
record_edit("step-status-unknown", 2, "steps.0.status: Input should be", set={"steps.0.status": "maybe"})
record_edit("wallet-bad", 2, "wallet", set={"wallet": "0x12"})
record_edit("started-word", 2, "started_at: Input should be a valid datetime", set={"started_at": "yesterday"})
record_edit("chain-id-word", 2, "chain_id: Input should be a valid integer", set={"chain_id": "base"})
record_edit("before-commas", 2, "expected an integer in base units", set={"steps.0.effects.0.before": "1,000"})
record_edit("before-float", 2, "expected an integer in base units", set={"steps.0.effects.0.before": 1.5})
record_edit("raw-tx-not-hex", 2, "steps.0.raw_tx: Value error, not 0x-prefixed hex bytes".replace("Value error, ", ""), set={"steps.0.raw_tx": "0xzz"})
record_edit("other-plan", 2, "run record is for plan sha256:000000000000", set={"plan_hash": "sha256:" + "0" * 64})
record_edit("missing-steps", 2, "steps: Field required", delete=["steps"])
record_edit("resume-unknown-field", 2, "stauts: unknown field; did you mean 'status'?", rename={"status": "stauts"}, run=RESUME)
record_edit("resume-duplicate", 2, "duplicate key 'status'", append_json_key=["status", "ok"], run=RESUME)
record_edit("resume-other-plan", 2, "", set={"plan_hash": "sha256:" + "0" * 64}, run=RESUME)

# --- audit logs -----------------------------------------------------------------------------------

A = "audit"
case(A, "garbage.jsonl", "not json\n", 1, "line 1 is not JSON", target="audit.jsonl")
case(A, "wrong-seq.jsonl", '{"seq": 2, "prev": "genesis"}\n', 1, "line 1", target="audit.jsonl")
case(A, "deep.jsonl", "[" * 50000 + "]" * 50000 + "\n", 1, "line 1", target="audit.jsonl")
case(A, "list-line.jsonl", "[1, 2]\n", 1, "line 1 is not an audit entry", target="audit.jsonl")
case(A, "not-utf8.jsonl", b'{"seq": 1, "x": "\xff"}\n', 1, "line 1", target="audit.jsonl")
case(A, "nan.jsonl", '{"seq": NaN}\n', 1, "line 1", target="audit.jsonl")
case(A, "anchor-garbled.txt", "not an anchor\n", 1, "the anchor is garbled", target="audit.anchor")
case(A, "anchor-without-log.txt", "3 " + "a" * 64 + "\n", 1, "the audit log is missing", target="audit.anchor")
case(A, "anchor-not-ascii.txt", b"3 \xff\n", 1, "the anchor is garbled", target="audit.anchor")
case(A, "edited-hash.jsonl", '{"seq": 1, "prev": "' + "0" * 64 + '", "hash": "' + "1" * 64 + '", "event": "apply"}\n', 1, "line 1", target="audit.jsonl")


# --- writing ---------------------------------------------------------------------------------------


def write() -> int:
    total = 0
    for kind, cases in CASES.items():
        directory = HERE / kind
        directory.mkdir(exist_ok=True)
        for old in directory.iterdir():
            if old.name != "cases.yaml":
                old.unlink()
        manifest: dict[str, Any] = {"run": RUN[kind], "cases": []}
        seen = set()
        for name, content, code, message, extra in cases:
            assert name not in seen, f"{kind}/{name} twice"
            seen.add(name)
            entry = {"file": name, "code": code, "message": message, **extra}
            if content is None:
                entry["absent"] = True  # the case is a missing file: nothing is written
            elif isinstance(content, dict):
                (directory / name).write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=False, width=100), encoding="utf-8")
            else:
                data = content.encode("utf-8") if isinstance(content, str) else content
                (directory / name).write_bytes(data)
            manifest["cases"].append(entry)
            total += 1
        header = f"# {kind}: generated by tests/corpus/generate.py (edit the cases there, then rerun it)\n"
        (directory / "cases.yaml").write_text(header + yaml.safe_dump(manifest, sort_keys=False, allow_unicode=False, width=140), encoding="utf-8")
    return total


if __name__ == "__main__":
    print(f"{write()} cases", file=sys.stderr)
