"""Safe{Wallet} Transaction Builder batch files (the JSON its "import" button reads).

Layout and checksum follow the Transaction Builder app: `version` "1.0", `chainId` as a decimal string,
`createdAt` in milliseconds, `meta` (name, description, txBuilderVersion, createdFromSafeAddress, checksum)
and `transactions` with `to`, `value` (decimal string), `data`, `contractMethod` (the ABI entry) and
`contractInputsValues` (each argument as the builder's text: numbers and addresses as strings, tuples and
arrays as JSON). The builder re-encodes calldata from `contractMethod` + `contractInputsValues`, so a
check re-encodes them too. The checksum is keccak256 of the builder's canonical serialisation (keys
sorted, each object written as its key list then its values) with `meta.name` set to null and
`meta.checksum` left out.
"""

from __future__ import annotations

import json
from typing import Any

from mammon.abi import abi_encode, decode_call, type_str
from mammon.errors import InputError, TamperedPlanError
from mammon.export.calls import BatchCall, batch_calls, check_calls, difference, only_keys, shown_json
from mammon.files import loads_json
from mammon.hashing import keccak256
from mammon.review import Review

VERSION = "1.0"
#: What the Builder itself writes here is its own package version (`txBuilderVersion: packageJson.version` in
#: safe-global/safe-react-apps apps/tx-builder/src/store/transactionLibraryContext.tsx); its last release there is
#: 1.18.2 (apps/tx-builder/package.json), and a batch file the app exported in October 2025 carries "1.18.2"
#: (safe-cli-nodejs, TRANSACTION_BUILDER_FORMAT_ANALYSIS.md). The app has since moved to safe-global/safe-wallet-monorepo
#: (apps/tx-builder, package version 1.0.0 there), whose files would say "1.0.0". The Builder reads the field on import
#: only through the checksum, which mammon computes over the value it writes, so either imports the same.
TX_BUILDER_VERSION = "1.18.2"


def _js(value: Any) -> str:
    """JSON.stringify of a scalar or list of strings, with undefined (None) as null."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def serialize(value: Any) -> str:
    """The Transaction Builder's `serializeJSONObject`: arrays element-wise, objects as sorted keys then values."""
    if isinstance(value, list):
        return "[" + ",".join(serialize(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value)
        return "{" + _js(keys) + "".join(serialize(value[k]) + "," for k in keys) + "}"
    return _js(value)


def checksum(batch: dict[str, Any]) -> str:
    meta = {k: v for k, v in batch["meta"].items() if k != "checksum"}
    body = {**batch, "meta": {**meta, "name": None}}
    return "0x" + keccak256(serialize(body).encode("utf-8")).hex()


def _text(param: dict[str, Any], value: Any) -> Any:
    """An ABI value (as mammon decodes it) in the builder's JSON form: ints as strings, tuples as lists."""
    kind = param["type"]
    if kind.endswith("[]"):
        inner = {**param, "type": kind[:-2]}
        return [_text(inner, v) for v in value]
    if kind == "tuple":
        return [_text(c, value[c["name"]]) for c in param["components"]]
    if kind.startswith(("uint", "int")):
        return str(value)
    return value


def _input_text(param: dict[str, Any], value: Any) -> str:
    shown = _text(param, value)
    if isinstance(shown, list):
        return json.dumps(shown, separators=(",", ":"))
    if isinstance(shown, bool):
        return "true" if shown else "false"
    return str(shown)


def _items(value: Any) -> Any:
    """A tuple's or array's builder text as a list, read as a user's JSON file is (depth-bounded)."""
    return loads_json(value, where="contractInputsValues") if isinstance(value, str) else value


def _parse(param: dict[str, Any], value: Any) -> Any:
    """Builder text back to an eth-abi value (inverse of _text / _input_text). Recurses once per level of
    the parameter's type: call it only with a type mammon's own ABI gave (see `_check_method`)."""
    kind = param["type"]
    if kind.endswith("[]"):
        inner = {**param, "type": kind[:-2]}
        return [_parse(inner, v) for v in _items(value)]
    if kind == "tuple":
        return tuple(_parse(c, v) for c, v in zip(param["components"], _items(value), strict=True))
    if kind.startswith(("uint", "int")):
        return int(str(value), 10)
    if kind == "bool":
        if value in (True, "true"):
            return True
        if value in (False, "false"):
            return False
        raise ValueError(f"{value!r} is not a bool")
    if kind.startswith("bytes"):
        return bytes.fromhex(str(value).removeprefix("0x"))
    return str(value)


def encode(method: dict[str, Any], values: dict[str, Any]) -> str:
    """Calldata from a contractMethod and its contractInputsValues, as the builder encodes it."""
    inputs = method["inputs"]
    types = [type_str(p) for p in inputs]
    selector = keccak256(f"{method['name']}({','.join(types)})".encode())[:4]
    args = [_parse(p, values[p["name"]]) for p in inputs]
    return "0x" + (selector + abi_encode(types, args)).hex()


def transaction(call: BatchCall) -> dict[str, Any]:
    fn, args = decode_call(call.data)
    inputs = [dict(p) for p in fn.inputs]
    return {
        "to": call.to,
        "value": str(call.value),
        "data": call.data,
        "contractMethod": {"inputs": inputs, "name": fn.name, "payable": call.value > 0},
        "contractInputsValues": {p["name"]: _input_text(p, args[p["name"]]) for p in fn.inputs},
    }


def description(reviewed: Review) -> str:
    plan = reviewed.plan
    moves = "; ".join(f"{r.from_protocol} -> {r.to_protocol}: {r.amount} {r.token}" for r in plan.recommendations)
    return f"mammon plan {plan.content_hash} ({len(plan.steps)} calls, {plan.chain.name}): {moves}"


def build(reviewed: Review, *, where: str = "plan") -> dict[str, Any]:
    plan = reviewed.plan
    batch: dict[str, Any] = {
        "version": VERSION,
        "chainId": str(plan.chain.id),
        "createdAt": int(plan.created_at.timestamp() * 1000),
        "meta": {
            "name": f"mammon {plan.content_hash.removeprefix('sha256:')[:12]}",
            "description": description(reviewed),
            "txBuilderVersion": TX_BUILDER_VERSION,
            "createdFromSafeAddress": plan.wallet,
        },
        "transactions": [transaction(c) for c in batch_calls(reviewed, where=where)],
    }
    batch["meta"]["checksum"] = checksum(batch)
    return batch


def check(reviewed: Review, data: Any, where: str, *, plan_where: str = "plan") -> None:
    """Refuse a Transaction Builder file that is not exactly this plan's calls (or whose checksum is off)."""
    plan = reviewed.plan
    meta = data["meta"]
    if meta.get("checksum") != checksum(data):
        raise TamperedPlanError(f"meta.checksum {meta.get('checksum')} does not match the file's content ({checksum(data)})", where=where)
    if plan.content_hash not in str(meta.get("description", "")):
        raise TamperedPlanError(f"meta.description does not name plan {plan.content_hash}: the export is for another plan", where=where)
    if not isinstance(data["chainId"], str):
        raise TamperedPlanError(f"chainId is the {type(data['chainId']).__name__} {str(data['chainId'])[:80]}, not a string: the Transaction Builder "
                                f"writes chain {plan.chain.id} as {str(plan.chain.id)!r}", where=where)
    if str(data["chainId"]) != str(plan.chain.id):
        raise TamperedPlanError(f"chainId is {data['chainId']}, the plan is for chain {plan.chain.id}", where=where)
    safe = str(meta.get("createdFromSafeAddress", ""))
    if safe.lower() != plan.wallet.lower():
        raise TamperedPlanError(f"meta.createdFromSafeAddress is {safe}, the plan's wallet is {plan.wallet}", where=where)
    _check_text(data, build(reviewed, where=plan_where), where)
    check_calls(data["transactions"], batch_calls(reviewed, where=plan_where), where, items="transactions",
                value_of=lambda tx: int(str(tx["value"]), 10), shown=str, data_of=lambda tx: str(tx.get("data") or ""), more=_check_method)


def _check_text(data: dict[str, Any], expected: dict[str, Any], where: str) -> None:
    """What the Builder shows beside the calls (the batch's name and description, its date, the file's version) is
    exactly what mammon writes for this plan: a signer reads it, and nothing there is checked on chain."""
    only_keys(data, expected, where, what="the file")
    only_keys(data["meta"], expected["meta"], where, what="meta")
    for key in ("version", "createdAt"):
        if data.get(key) != expected[key]:
            raise TamperedPlanError(f"{key} is {shown_json(data.get(key))}, mammon writes {shown_json(expected[key])} for this plan", where=where)
    for key in ("name", "description", "txBuilderVersion"):
        if data["meta"].get(key) != expected["meta"][key]:
            raise TamperedPlanError(f"meta.{key} is {shown_json(data['meta'].get(key))}, mammon writes {shown_json(expected['meta'][key])} "
                                    "for this plan", where=where)


def _check_method(tx: dict[str, Any], call: BatchCall, at: str) -> None:
    """The builder re-encodes calldata from `contractMethod` + `contractInputsValues`: those must give the step's bytes."""
    method = tx.get("contractMethod")
    if method is not None:
        # The same function first (name and canonical types): any other signature is another selector, or a
        # 4-byte collision made to look like this call; and the values are then parsed by types mammon knows.
        signature = f"{method['name']}({','.join(type_str(p) for p in method['inputs'])})"
        if signature != call.decoded.function:
            raise TamperedPlanError(f"contractMethod is {signature[:200]}, step {call.step.id} calls {call.decoded.function}", where=at)
        values = tx.get("contractInputsValues") or {}
        extra = sorted(set(values) - {p["name"] for p in method["inputs"]})
        if extra:  # nothing the builder encodes, but text a signer would read beside the call
            raise TamperedPlanError(f"contractInputsValues has {', '.join(map(repr, extra))[:200]}, which {call.decoded.function} "
                                    "has no argument of that name", where=at)
        try:
            encoded = encode(method, values)
        except InputError as exc:  # a tuple's or array's JSON text that the reader refuses
            raise TamperedPlanError(f"contractInputsValues: {exc.message}", where=at) from None
        if encoded.lower() != call.data.lower():
            raise TamperedPlanError(
                f"contractMethod + contractInputsValues encode other calldata than step {call.step.id} ({call.decoded.function}); "
                "the Transaction Builder would send those", where=at)
    expected = transaction(call)
    only_keys(tx, expected, at, what="the transaction")
    if method is not None:  # the argument names and `payable` the Builder shows: the ABI's own, as mammon writes them
        found = difference(method, expected["contractMethod"], "contractMethod")
        if found:
            path, got, want = found
            raise TamperedPlanError(f"{path} is {shown_json(got)}, step {call.step.id}'s ABI ({call.decoded.function}) gives {shown_json(want)}", where=at)
