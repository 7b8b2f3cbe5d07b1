"""The ABIs in `abis/`: encoding calls, and decoding calldata back by its 4-byte selector.

Review and apply decode what will be signed from the bytes themselves, so the ABI files are the one
source of truth for what a selector means. Decoding uses `mammon.abidecode` (eth-abi's strict rules,
without its 0.1 s import: `mammon show` only decodes); encoding uses `mammon.abiencode` (eth-abi's bytes, eth-abi
itself imported only for values that module does not lay out).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from collections.abc import Callable, Sequence
from functools import cache, cached_property, lru_cache, partial
from pathlib import Path
from typing import Any

from mammon.abidecode import decode as _strict_decode
from mammon.abiencode import encode as _encode
from mammon.errors import InputError, TamperedPlanError
from mammon.hashing import keccak256

ROOT = Path(__file__).resolve().parent.parent
ABI_DIR = Path(os.environ.get("MAMMON_ABI_DIR", ROOT / "abis"))


def abi_encode(types: list[str] | tuple[str, ...], values: list[Any]) -> bytes:
    """eth-abi's encoding (`mammon.abiencode` lays out well-formed values; eth-abi itself is imported only for the rest)."""
    return _encode(types, values)


def abi_decode(types: list[str] | tuple[str, ...], data: bytes) -> tuple[Any, ...]:
    """eth-abi's strict decoding, as `mammon.abidecode` does it."""
    return _strict_decode(types, data)


def type_str(param: dict[str, Any]) -> str:
    """The canonical ABI type of a parameter (tuples spelled out as `(…)`, with any array suffix)."""
    if param["type"].startswith("tuple"):
        inner = ",".join(type_str(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])


# ABI types that are one head word and nothing else, whose decoded value encodes again as it is: no tuple, array,
# dynamic type (bytes, string), nor bytesN (decoded to "0x…" text, which the encoder refuses).
ONE_WORD_TYPES = frozenset({"address", "bool", *(f"{sign}int{8 * n}" for sign in ("", "u") for n in range(1, 33))})


@dataclass(frozen=True)
class Function:
    """One ABI function: where it came from, its signature and its parameters."""

    abi_file: str
    name: str
    inputs: tuple[dict[str, Any], ...]
    outputs: tuple[dict[str, Any], ...]

    @cached_property
    def signature(self) -> str:
        return f"{self.name}({','.join(type_str(p) for p in self.inputs)})"

    @cached_property
    def input_types(self) -> list[str]:
        return [type_str(p) for p in self.inputs]

    @cached_property
    def output_types(self) -> list[str]:
        return [type_str(p) for p in self.outputs]

    @cached_property
    def _input_key(self) -> tuple[str, ...]:
        return tuple(self.input_types)

    @cached_property
    def selector(self) -> bytes:
        return keccak256(self.signature.encode())[:4]

    @cached_property
    def plain_params(self) -> tuple[tuple[str, str, str], ...] | None:
        """(name, type, category) of each parameter when none is a tuple (its arguments need no flattening), else None.
        Category: "address", "uint" or "int" (a single integer of any size), "bool", or "" (anything else)."""
        if any(p["type"].startswith("tuple") for p in self.inputs):
            return None
        return tuple((p["name"], p["type"], _category(p["type"])) for p in self.inputs)

    def encode(self, args: dict[str, Any]) -> str:
        """Calldata hex for named arguments (tuples as dicts of their component names), memoised per (typed) values as
        `encode_values` is: a plan's calls are encoded when it is compiled and again when it is compiled to check it."""
        values = [args[name] if write is None else write(args[name]) for name, write in self._writers]
        key = _frozen(values)
        try:
            hash(key)
        except TypeError:
            return "0x" + (self.selector + abi_encode(list(self._input_key), values)).hex()
        return _calldata(self.selector, self._input_key, key)

    @cached_property
    def _writers(self) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
        """Each parameter's name and what `_to_abi` does to its value (None: nothing, all but tuples), chosen once."""
        return tuple((p["name"], partial(_to_abi, p) if p["type"].startswith("tuple") else None) for p in self.inputs)

    @cached_property
    def _readers(self) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
        """Each parameter's name and what `_from_abi` does to its decoded value, chosen once per function."""
        return tuple((p["name"], _reader(p)) for p in self.inputs)

    @cached_property
    def scalar_inputs(self) -> tuple[tuple[str, str, Callable[[Any], Any]], ...] | None:
        """Each parameter's name, type and reader (`_readers`) when every one is a scalar (no tuple, no array) of a
        name of its own: such a call's arguments, named and flattened, are its decoded values read in order. None
        for any other function."""
        names = {p["name"] for p in self.inputs}
        if len(names) != len(self.inputs) or any(p["type"].startswith("tuple") or p["type"].endswith("]") for p in self.inputs):
            return None
        return tuple((p["name"], p["type"], read) for p, (_, read) in zip(self.inputs, self._readers, strict=True))

    @cached_property
    def uint256_words(self) -> dict[str, int] | None:
        """The head word of each uint256 parameter by name, when every parameter is one head word (`ONE_WORD_TYPES`)
        and no name repeats (re-encoding reads one value per name: a repeated name is written twice); None otherwise.
        The engine writes a resolved amount straight into that word."""
        names = [p["name"] for p in self.inputs]
        if not all(p["type"] in ONE_WORD_TYPES for p in self.inputs) or len(set(names)) != len(names):
            return None
        return {p["name"]: n for n, p in enumerate(self.inputs) if p["type"] == "uint256"}

    def decode_args(self, data: bytes) -> dict[str, Any]:
        """Named arguments of calldata `data` (selector included); a new dict on every call, safe to change."""
        return self.named(_decode_values(self._input_key, bytes(data[4:])))

    def named(self, values: tuple[Any, ...]) -> dict[str, Any]:
        """Named arguments of this function's decoded `values` (eth-abi's form): a new dict, safe to change."""
        return {name: read(v) for (name, read), v in zip(self._readers, values, strict=True)}

    def decode_output(self, data: bytes) -> tuple[Any, ...]:
        return tuple(abi_decode(self.output_types, data))


# One plan's calldata is encoded and decoded many times over: compiled, compiled again to check it,
# decoded for review, re-encoded and executed by the preflight and again by the run. Both directions
# are pure functions of immutable inputs, so each distinct argument list is worked out once.
_MEMO_SIZE = 4096


@lru_cache(maxsize=_MEMO_SIZE)
def _decode_values(types: tuple[str, ...], payload: bytes) -> tuple[Any, ...]:
    """eth-abi's strict decoding of one argument list (its result is made of tuples: immutable, so shared)."""
    return tuple(_strict_decode(types, payload))


def _frozen(value: Any) -> Any:
    """A hashable key for an argument value that tells types apart (True is not 1, a list not a tuple)."""
    kind = type(value)
    if kind is list or kind is tuple:
        return kind, tuple([_frozen(v) for v in value])
    return kind, value


def _thawed(key: Any) -> Any:
    kind, value = key
    return kind(_thawed(v) for v in value) if kind in (list, tuple) else value


@lru_cache(maxsize=_MEMO_SIZE)
def _encode_frozen(types: tuple[str, ...], key: Any) -> bytes:
    return abi_encode(types, list(_thawed(key)))


@lru_cache(maxsize=_MEMO_SIZE)
def _calldata(selector: bytes, types: tuple[str, ...], key: Any) -> str:
    """A call's hex text: its selector and its arguments as `encode_values` encodes them (its memo filled alike)."""
    return "0x" + (selector + _encode_frozen(types, key)).hex()


def _category(kind: str) -> str:
    if kind in ("address", "bool"):
        return kind
    if kind.startswith(("uint", "int")) and not kind.endswith("]"):
        return "uint" if kind.startswith("uint") else "int"
    return ""


def encode_values(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """`eth_abi.encode(types, values)` (as `mammon.abiencode` lays it out), memoised per distinct (typed) values;
    unhashable values are encoded directly.

    Errors are never memoised: invalid values raise exactly as eth-abi raises them."""
    key = _frozen(list(values))
    try:
        hash(key)
    except TypeError:
        return abi_encode(list(types), list(values))
    return _encode_frozen(tuple(types), key)


def _to_abi(param: dict[str, Any], value: Any) -> Any:
    kind = param["type"]
    if kind.startswith("tuple"):
        if kind.endswith("[]"):
            return [_to_abi({**param, "type": "tuple"}, v) for v in value]
        return tuple(_to_abi(c, value[c["name"]]) for c in param["components"])
    return value


def _from_abi(param: dict[str, Any], value: Any) -> Any:
    kind = param["type"]
    if kind.startswith("tuple"):
        if kind.endswith("[]"):
            return [_from_abi({**param, "type": "tuple"}, v) for v in value]
        return {c["name"]: _from_abi(c, v) for c, v in zip(param["components"], value, strict=True)}
    if kind == "address":
        from mammon.types import checksum_address

        return checksum_address(value)
    if kind.startswith("bytes"):
        return _hex_bytes(value)
    return value


def _hex_bytes(value: Any) -> Any:
    """A decoded `bytes`/`bytesN` as 0x-hex text; an array of them (decoded as a tuple) as a list of such texts."""
    return "0x" + bytes(value).hex() if not isinstance(value, (list, tuple)) else ["0x" + bytes(v).hex() for v in value]


def _same(value: Any) -> Any:
    return value


def _reader(param: dict[str, Any]) -> Callable[[Any], Any]:
    """`_from_abi` for one parameter, its type's branch taken in advance."""
    kind = param["type"]
    if kind.startswith("tuple"):
        return partial(_from_abi, param)
    if kind == "address":
        from mammon.types import checksum_address

        return checksum_address
    if kind.startswith("bytes"):
        return _hex_bytes
    return _same


@cache
def load_abi(name: str) -> dict[str, Function]:
    """Functions of `abis/<name>.json` by function name, e.g. load_abi('aave_v3/Pool')."""
    path = ABI_DIR / f"{name}.json"
    if not path.exists():
        raise InputError(f"ABI file {path} is missing", where="abis")
    entries = json.loads(path.read_text())
    return {
        e["name"]: Function(name, e["name"], tuple(e["inputs"]), tuple(e.get("outputs", ())))
        for e in entries
        if e.get("type") == "function"
    }


def function(abi: str, name: str) -> Function:
    return load_abi(abi)[name]


@cache
def _by_selector() -> dict[bytes, list[Function]]:
    index: dict[bytes, list[Function]] = {}
    for path in sorted(ABI_DIR.rglob("*.json")):
        name = path.relative_to(ABI_DIR).with_suffix("").as_posix()
        for fn in load_abi(name).values():
            index.setdefault(fn.selector, []).append(fn)
    return index


@lru_cache(maxsize=1024)
def _function_for(selector: bytes, abi: str | None) -> Function | None:
    """The function a selector calls (the first ABI file's, in path order), among `abi`'s functions when given."""
    candidates = [f for f in _by_selector().get(selector, []) if abi is None or f.abi_file == abi]
    return candidates[0] if candidates else None


def decode_call(data: str, abi: str | None = None) -> tuple[Function, dict[str, Any]]:
    """Decode calldata by selector; with `abi` given, only that contract's functions may match.
    The arguments are a new dict on every call, safe to change (the engine sets resolved references in it)."""
    fn, values = _decoded_call(data, abi)
    try:
        return fn, fn.named(values)
    except Exception as exc:  # (never for what the decoder returns; worded as a decoding failure all the same)
        raise TamperedPlanError(f"calldata does not decode as {fn.signature}: {exc}") from None


def decoded_values(data: str, abi: str | None = None) -> tuple[Function, tuple[Any, ...]]:
    """The function calldata calls and its values as eth-abi decodes them, before `Function.named` reads them
    (shared tuples, never changed); refused as `decode_call` refuses the bytes."""
    return _decoded_call(data, abi)


def called(data: str, abi: str | None = None) -> Function:
    """The function calldata calls, its bytes decoded and refused as `decode_call` refuses them (the arguments are
    not named here: a caller that reads them goes through `decode_call`)."""
    return _decoded_call(data, abi)[0]


# Calldata text (and the ABI file it was looked up in, or None) -> (its function, its values as eth-abi decodes them).
_CALLS: dict[tuple[str, str | None], tuple[Function, tuple[Any, ...]]] = {}


def _decoded_call(data: str, abi: str | None) -> tuple[Function, tuple[Any, ...]]:
    """The function calldata hex calls and its values as eth-abi decodes them (tuples: immutable, so shared).

    One apply decodes each step's bytes in review, in the recompile check, in the engine and in the simulator;
    keyed by the hex text itself, each distinct call is parsed and decoded once. When the function found is the
    first with its selector, the look-up by selector alone (review's) and among its own ABI file's functions
    (compile's) find the same function, so one decoding serves both. Errors are never memoised; when full, the
    memo is emptied (one step at a time, safe with other threads)."""
    found = _CALLS.get((data, abi))
    if found is None:
        found = _decode_call_text(data, abi)
        if len(_CALLS) >= _MEMO_SIZE:
            _CALLS.clear()
        _CALLS[(data, abi)] = found
        fn = found[0]
        if abi is None or _function_for(fn.selector, None) is fn:
            _CALLS[(data, None)] = _CALLS[(data, fn.abi_file)] = found
    return found


def _decode_call_text(data: str, abi: str | None) -> tuple[Function, tuple[Any, ...]]:
    raw = bytes.fromhex(data.removeprefix("0x"))
    if len(raw) < 4:
        raise TamperedPlanError(f"calldata {data[:18]} is shorter than a selector")
    fn = _function_for(raw[:4], abi)
    if fn is None:
        raise TamperedPlanError(f"selector 0x{raw[:4].hex()} matches no function in abis/{abi or ''}")
    try:
        return fn, _decode_values(fn._input_key, raw[4:])
    except Exception as exc:  # DecodeError, or a value the ABI cannot hold: all mean the bytes are malformed
        raise TamperedPlanError(f"calldata does not decode as {fn.signature}: {exc}") from None
