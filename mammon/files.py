"""Reading user files (YAML, JSON, TOML) into pydantic models, and writing the files a user names, with
one-line errors naming file and field (or the path and the OS's reason it cannot be written).

Every file mammon reads from a user goes through here, and nothing in a file can hurt:

- at most `MAX_BYTES` are read (a 10 MB file is refused, not parsed for a minute);
- the text must be UTF-8 (a leading byte-order mark is allowed);
- nesting deeper than `MAX_DEPTH` is refused *before* any recursive parser sees it: importing py_ecc
  raises Python's recursion limit to 100,000, so a deeply nested JSON would crash the C parser's stack;
- YAML aliases (`*name`) and merge keys (`<<`) are refused (no "billion laughs"), and so are tags
  other than the plain scalar/collection ones;
- a key given twice in one mapping is refused, naming the key and its line (YAML and JSON);
- numbers are never rewritten: YAML 1.1 reads `010` as 8, `1_000` as 1000 and `1:30` as 90, so such
  plain scalars are refused (quote them); non-finite floats (`.inf`, `NaN`, `1e999`) are refused;
  with `exact_numbers` a number with a fraction is the `Decimal` written (`1000.5`), never a float.

YAML is read from libyaml's event stream (`yaml.CSafeLoader`'s C parser) into plain dicts and lists by
one loop with an explicit stack: no recursion, and about twice as fast as `yaml.load` (it skips the node
graph). Unknown keys in a model are refused with the nearest known field ("did you mean").

Every file mammon writes where a user said (`-o`, a plan directory, a run record) goes through
`write_output`: the text goes to a temporary file beside the target and is renamed over it, so a write
that fails leaves the old file (or none), never half of one; `check_output` refuses a path that cannot
be written (a directory, a missing directory, a file where a directory should be) before any work is done.
"""

from __future__ import annotations

import difflib
import errno
from itertools import accumulate
import json
import math
import os
import re
import secrets
import stat
import types
import typing
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    DocumentStartEvent,
)
from yaml.nodes import ScalarNode

from mammon.errors import InputError

M = TypeVar("M", bound=BaseModel)

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_PROBLEMS = 5  # validation problems listed on the one error line; the rest are counted

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_SCALAR_TAGS = frozenset({_STR, _INT, _FLOAT, "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp"})
_COLLECTION_TAGS = frozenset({None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_PLAIN_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_PLAIN_FLOAT = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)")


# --- bytes and text --------------------------------------------------------------------------------


def read_bytes(path: str | Path, *, max_bytes: int = MAX_BYTES) -> bytes:
    """The file's bytes, refusing a missing/unreadable file and anything over `max_bytes`."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError("file not found", where=str(path)) from None
    except (IsADirectoryError, PermissionError, OSError) as exc:
        raise InputError(f"cannot read file ({exc.__class__.__name__})", where=str(path)) from None
    if len(raw) > max_bytes:
        raise InputError(f"file is larger than {max_bytes // 1024} KiB: refusing to read it", where=str(path))
    return raw


def decode_text(raw: bytes, *, where: str) -> str:
    """UTF-8 text (a leading BOM dropped), or a one-line refusal naming the first bad byte."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start}", where=where) from None
    return text.removeprefix("\ufeff")


def read_text(path: str | Path, *, max_bytes: int = MAX_BYTES) -> str:
    return decode_text(read_bytes(path, max_bytes=max_bytes), where=str(path))


# --- JSON ------------------------------------------------------------------------------------------

# A string, or an unterminated one up to the end (so a stray quote never makes the scan quadratic).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)  # unrolled: linear, and fast on long strings
_BRACKETS = re.compile(r"[\[\]{}]")


_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def bracket_depth(text: str) -> int:
    """Deepest nesting of [] and {} outside strings, unclosed ones included (C-level passes, no recursion)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0
    # Outside strings: with no escaped quote, every other piece between quotes (fast); else the string regex.
    outside = "".join(text.split('"')[::2]) if '\\"' not in text else _JSON_STRING.sub("", text)
    brackets = _NOT_BRACKETS.sub("", outside)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        key = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise _Refused(f"duplicate key {key!r}")
    return out


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"number {text[:40]} is out of range")
    return value


def _json_decimal(text: str) -> Decimal:
    if "e" in text.lower():
        raise _Refused(f"number {text[:40]} is not a plain decimal (it has an exponent): write it in decimal")
    return Decimal(text)


def _json_constant(text: str) -> Any:
    raise _Refused(f"{text} is not a JSON number")


class _Refused(ValueError):
    """A problem found while parsing; becomes an InputError naming the file."""


def loads_json(text: str, *, where: str, exact_numbers: bool = False) -> Any:
    """Parse JSON text: depth-bounded first, duplicate keys and NaN/Infinity refused."""
    if bracket_depth(text) > MAX_DEPTH:
        raise InputError(f"nested deeper than {MAX_DEPTH} levels", where=where)
    try:
        return json.loads(text, object_pairs_hook=_json_pairs, parse_float=_json_decimal if exact_numbers else _json_float,
                          parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", where=where) from None
    except _Refused as exc:
        raise InputError(str(exc), where=where) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer over Python's 4,300-digit limit
        raise InputError(f"malformed JSON: {_first_line(exc)}", where=where) from None


# --- YAML ------------------------------------------------------------------------------------------


def _at(event: Any) -> str:
    mark = getattr(event, "start_mark", None)
    return f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""


def _scalar(loader: Any, event: Any, exact_numbers: bool = False) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(ScalarNode, event.value, event.implicit)
    if tag == _STR:
        return event.value
    if tag not in _SCALAR_TAGS:
        what = "merge keys (<<) are" if tag == "tag:yaml.org,2002:merge" else f"tag {tag} is"
        raise _Refused(f"YAML {what} not allowed{_at(event)}")
    value = event.value
    if (tag == _INT and not _PLAIN_INT.fullmatch(value)) or (tag == _FLOAT and not _PLAIN_FLOAT.fullmatch(value)):
        raise _Refused(f"number {value[:40]!r}{_at(event)} is not a plain decimal (YAML 1.1 reads octal, hex, "
                       "underscores and 1:30 as other numbers): write it in decimal or quote it")
    if tag == _FLOAT and exact_numbers and value.lstrip("+-").lower() not in (".inf", ".nan"):
        if "e" in value.lower():
            raise _Refused(f"number {value[:40]!r}{_at(event)} is not a plain decimal (it has an exponent): write it in decimal")
        return Decimal(value)
    result = loader.yaml_constructors[tag](loader, ScalarNode(tag, value))
    if tag == _FLOAT and not math.isfinite(result):
        raise _Refused(f"number {value[:40]!r}{_at(event)} is not finite")
    return result


def _yaml_events(loader: Any, where: str, exact_numbers: bool = False) -> Any:
    """Build the single document from the event stream with an explicit stack (no recursion, no aliases)."""
    stack: list[Any] = []
    keys: list[Any] = []  # per open mapping: None (expecting a key) or (key, event)
    root: Any = None
    documents = 0
    get_event = loader.get_event
    while True:
        event = get_event()
        kind = event.__class__
        if kind is ScalarEvent:
            value = _scalar(loader, event, exact_numbers)
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.tag not in _COLLECTION_TAGS:
                raise _Refused(f"YAML tag {event.tag} is not allowed{_at(event)}")
            if len(stack) >= MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels{_at(event)}")
            if stack and stack[-1].__class__ is dict and keys[-1] is None:
                raise _Refused(f"a mapping key must be a plain value, not a {'mapping' if kind is MappingStartEvent else 'list'}{_at(event)}")
            stack.append({} if kind is MappingStartEvent else [])
            keys.append(None)
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            value = stack.pop()
            keys.pop()
        elif kind is AliasEvent:
            raise _Refused(f"YAML aliases (*{event.anchor}) are not allowed{_at(event)}")
        elif kind is DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _Refused(f"more than one YAML document{_at(event)}")
            continue
        elif kind is StreamEndEvent:
            return root
        else:
            continue
        if not stack:
            root = value
            continue
        top = stack[-1]
        if top.__class__ is list:
            top.append(value)
            continue
        pending = keys[-1]
        if pending is None:
            try:
                hash(value)
            except TypeError:
                raise _Refused(f"a mapping key must be a plain value{_at(event)}") from None
            keys[-1] = (value, event)
            continue
        key, key_event = pending
        if key in top:
            raise _Refused(f"duplicate key {key!r}{_at(key_event)}")
        top[key] = value
        keys[-1] = None


def loads_yaml(text: str, *, where: str, exact_numbers: bool = False) -> Any:
    """Parse one YAML document into dicts, lists and scalars, refusing aliases, deep nesting and duplicates."""
    loader = _Loader(text)
    try:
        return _yaml_events(loader, where, exact_numbers)
    except _Refused as exc:
        raise InputError(str(exc), where=where) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "cannot parse"
        if isinstance(exc, yaml.reader.ReaderError) or getattr(exc, "reason", None):  # a character YAML refuses
            char = getattr(exc, "character", "")
            code = ord(char) if isinstance(char, str) and len(char) == 1 else char
            shown = f"{code:#04x}" if isinstance(code, int) else repr(code)
            raise InputError(f"malformed YAML: character {shown} at offset {getattr(exc, 'position', '?')} is not allowed", where=where) from None
        if "nesting depth" in problem:  # libyaml's own limit, met while scanning ahead
            raise InputError(f"nested deeper than {MAX_DEPTH} levels{at}", where=where) from None
        raise InputError(f"malformed YAML{at}: {problem}", where=where) from None
    except (ValueError, TypeError, OverflowError) as exc:  # a scalar constructor's own error (a bad date, an int too long)
        raise InputError(f"malformed YAML: {_first_line(exc)}", where=where) from None
    finally:
        loader.dispose()


def _first_line(exc: BaseException) -> str:
    if "integer string conversion" in str(exc):
        return "a number has more than 4,300 digits"
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else exc.__class__.__name__


# --- files -----------------------------------------------------------------------------------------


def loads_data(text: str, *, where: str, fmt: str = "yaml", exact_numbers: bool = False) -> Any:
    """Parse YAML or JSON text; `exact_numbers` reads every number with a fraction as the exact `Decimal`
    written (never a float)."""
    if fmt == "json":
        return loads_json(text, where=where, exact_numbers=exact_numbers)
    return loads_yaml(text, where=where, exact_numbers=exact_numbers)


def read_data(path: str | Path, *, max_bytes: int = MAX_BYTES, exact_numbers: bool = False) -> Any:
    """Parse a YAML or JSON file (by suffix: JSON errors read better from the json module)."""
    path = Path(path)
    text = read_text(path, max_bytes=max_bytes)
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    return loads_data(text, where=str(path), fmt=fmt, exact_numbers=exact_numbers)


def read_toml(path: str | Path, *, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """Parse a TOML file (size-limited, nesting bounded before the recursive parser sees it)."""
    import tomllib

    text = read_text(path, max_bytes=max_bytes)
    if bracket_depth(text) > MAX_DEPTH:
        raise InputError(f"nested deeper than {MAX_DEPTH} levels", where=str(path))
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"malformed TOML: {_first_line(exc)}", where=str(path)) from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"malformed TOML: {_first_line(exc)}", where=str(path)) from None


# --- models ----------------------------------------------------------------------------------------


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types a field annotation may hold (Annotated, Optional and unions opened up)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [t for arg in typing.get_args(tp) for t in _unwrap(arg)]
    return [tp]


def _fields_at(model: Any, loc: Iterable[Any]) -> list[str] | None:
    """The field names of the model found by walking `loc` down from `model` (None if not a model)."""
    current = [model]
    for part in loc:
        following: list[Any] = []
        for tp in (t for c in current for t in _unwrap(c)):
            origin = typing.get_origin(tp)
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                fields = tp.model_fields
                key = next((n for n, f in fields.items() if part in (n, f.alias)), None)
                if key is not None:
                    following.append(fields[key].annotation)
                elif isinstance(part, str) and part == tp.__name__:
                    following.append(tp)
            elif origin in (list, tuple, set, frozenset) and isinstance(part, int):
                following.extend(typing.get_args(tp)[:1])
            elif origin is dict:
                args = typing.get_args(tp)
                following.append(args[1] if len(args) == 2 else Any)
            elif isinstance(part, str) and getattr(tp, "__name__", None) == part:
                following.append(tp)  # a union member named in the location (pydantic's smart union)
            elif isinstance(part, str) and origin is not None and str(part).startswith(getattr(origin, "__name__", "?")):
                following.append(tp)
        if not following:
            return None
        current = following
    names = [n for tp in (t for c in current for t in _unwrap(c)) if isinstance(tp, type) and issubclass(tp, BaseModel)
             for n, f in tp.model_fields.items() for n in ([f.alias] if f.alias else [n])]
    return names or None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    known = sorted(set(known))
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; known: {', '.join(known)}" if known else ""


def describe_validation(exc: ValidationError, model: Any = None) -> str:
    """All problems of a pydantic error on one line: `field.path: message; ...`."""
    parts = []
    listed: set[tuple[str, ...]] = set()  # each model's known fields are listed once per line
    errors = exc.errors()
    for err in errors[:MAX_PROBLEMS]:
        loc = ".".join(str(p)[:80] for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbid" or err["type"] == "extra_forbidden":
            msg = "unknown field"
            known = _fields_at(model, err["loc"][:-1]) if model is not None else None
            if known:
                hint = did_you_mean(str(err["loc"][-1]), known)
                if hint.startswith("; did you mean") or tuple(known) not in listed:
                    msg += hint
                listed.add(tuple(known))
        parts.append(f"{loc}: {msg}")
    if len(errors) > MAX_PROBLEMS:
        parts.append(f"and {len(errors) - MAX_PROBLEMS} more problems")
    return "; ".join(parts)


def parse_model(model: type[M], data: Any, *, where: str) -> M:
    """Validate data against a model, turning every problem into one InputError line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(describe_validation(exc, model), where=where) from None
    except RecursionError:
        raise InputError(f"nested too deeply to validate (more than {MAX_DEPTH} levels)", where=where) from None


def load_model(model: type[M], path: str | Path) -> M:
    return parse_model(model, read_data(path), where=str(path))


# --- writing ---------------------------------------------------------------------------------------


def cannot_write(exc: OSError, path: str | Path) -> InputError:
    """The one-line refusal of an output the OS would not let mammon write (its reason in words)."""
    reason = exc.strerror or exc.__class__.__name__
    return InputError(f"cannot write this file ({reason})", where=str(path))


def _existing_ancestor(path: Path) -> Path:
    for ancestor in path.parents:
        if os.path.lexists(ancestor):
            return ancestor
    return Path(".")


def check_output(path: str | Path, *, probe: bool = False, parents: bool = False, regular: bool = False) -> None:
    """Refuse now, naming the path, an output that cannot be written: a directory, a read-only file, a
    missing or unwritable directory, a file where a directory should be. Nothing is left behind; `probe`
    also creates and removes a temporary file beside it (what `write_output` will do: the only sure test
    where permissions say yes and the file system says no, as in /proc). `parents`: missing directories
    will be created (`make_directory`), so the nearest existing one is checked instead. `regular`: a file
    mammon reads back or appends to (a run record), so never a device or a pipe."""
    if not str(path).strip():
        raise InputError("the output path is empty: name a file to write", where=repr(str(path)))
    if str(path).endswith(("/", os.sep)):  # Path() would drop the slash and write a file where a directory was meant
        raise InputError("names a directory (it ends in /): name a file to write", where=str(path))
    path = Path(path)
    try:
        st: os.stat_result | None = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as exc:
        raise cannot_write(exc, path) from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise InputError("is a directory: name a file to write", where=str(path))
        if not os.access(path, os.W_OK):
            raise InputError("cannot write this file (it is read-only)", where=str(path))
        if not stat.S_ISREG(st.st_mode):
            if regular:
                raise InputError("is not a regular file (a device or a pipe): name a file mammon can read back", where=str(path))
            return  # a device or a pipe (/dev/null, /dev/stdout): written in place
    parent = Path(os.path.realpath(path)).parent if st is not None else (path.parent if str(path.parent) else Path("."))
    if not parent.is_dir():
        ancestor = _existing_ancestor(parent) if not os.path.lexists(parent) else parent
        if not os.path.isdir(ancestor):
            raise InputError(f"cannot write this file: {ancestor} is a file, not a directory", where=str(path))
        if not parents:
            raise InputError(f"cannot write this file: directory {parent} does not exist", where=str(path))
        parent = ancestor
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write this file: directory {parent} is not writable", where=str(path))
    if probe:
        tmp, fd = _temporary(parent, path.name, 0o600, path)
        os.close(fd)
        tmp.unlink()


def make_directory(directory: str | Path, what: str) -> Path:
    """Create the directory `what` names (and its parents), or refuse naming it: a file in the way, no permission."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        in_the_way = isinstance(exc, (FileExistsError, NotADirectoryError))
        raise InputError(f"cannot create the {what} ({'a file is in the way' if in_the_way else exc.strerror or exc.__class__.__name__})",
                         where=str(directory)) from None
    return directory


def _temporary(directory: Path, name: str, mode: int, path: Path) -> tuple[Path, int]:
    """A new, uniquely named temporary file beside the target (another writer's name is never reused), open
    for writing; InputError naming `path` when the directory refuses it."""
    while True:
        tmp = directory / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
        except FileExistsError:  # another writer's temporary file: draw another name
            continue
        except OSError as exc:
            raise cannot_write(exc, path) from None
        return tmp, fd


def write_output(path: str | Path, text: str | bytes, *, mode: int = 0o666, durable: bool = False, keep_mode: bool = True) -> None:
    """Replace `path` with `text` (bytes as they are), all or nothing: a uniquely named temporary file beside it
    (so two writers never share one) renamed over it; a failure raises InputError naming the path and the OS's
    reason and leaves the old file as it was. A symlink is written through (its target replaced), a device or pipe
    written in place. `mode`: the new file's permission bits before the umask (an existing file's are kept
    when `keep_mode`); `durable`: fsync the file before the rename and the directory after it."""
    path = Path(path)
    check_output(path)
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        try:
            if isinstance(text, bytes):
                with open(path, "wb") as out:
                    out.write(text)
            else:
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(text)
        except OSError as exc:
            raise cannot_write(exc, path) from None
        return
    target = Path(os.path.realpath(path)) if st is not None and path.is_symlink() else path
    directory = target.parent if str(target.parent) else Path(".")
    tmp, fd = _temporary(directory, target.name, mode, path)
    try:
        if isinstance(text, bytes):  # (a run record: pydantic's own bytes, written without a text layer)
            try:
                if keep_mode and st is not None:
                    os.fchmod(fd, stat.S_IMODE(st.st_mode))
                _write_all(fd, text)
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                if keep_mode and st is not None:
                    os.fchmod(fh.fileno(), stat.S_IMODE(st.st_mode))
                fh.write(text)
                fh.flush()
                if durable:
                    os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise cannot_write(exc, path) from None
        raise
    if durable:
        try:
            fsync_dir(directory)
        except OSError as exc:
            raise cannot_write(exc, path) from None


def _write_all(fd: int, data: bytes) -> None:
    """All of `data` to `fd` (a write to a regular file may take less than it is given)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if not written:  # (never for a regular file with room; no write loops forever)
            raise OSError(errno.EIO, "the file took none of a write")
        view = view[written:]


def fsync_dir(directory: Path) -> None:
    """Make the directory's entries (a file created or renamed in it) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
