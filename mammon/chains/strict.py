"""Strict chain configs: every key of a chain file is one its models know, or it is refused by name.

A misspelled key (`adress`, `pool_init_codehash`) silently ignored is a wrong plan later, so the whole
file is walked against the models that read it (the chain model, and each protocol's `Config` model from
its venue adapter) and every unknown key is reported at once with its key path and the nearest known key.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel


def _models_in(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    """(model, shape) for a field annotation: shape '' (the model itself), 'dict' (dict[str, Model]), 'list'."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            model, shape = _models_in(arg)
            if model is not None:
                return model, shape
        return None, ""
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin is dict:
        model, _ = _models_in(typing.get_args(annotation)[1])
        return model, "dict"
    if origin is list:
        model, _ = _models_in(typing.get_args(annotation)[0])
        return model, "list"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    return None, ""


def unknown_keys(model: type[BaseModel], data: Any, path: str) -> list[str]:
    """One message per key of `data` (at `path`) that `model` (recursively) does not know."""
    if not isinstance(data, dict):
        return []
    fields = model.model_fields
    known = {info.alias or name for name, info in fields.items()}
    problems = []
    for key, value in data.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known keys: {', '.join(sorted(known))})"
            problems.append(f"{where}: unknown key{hint}")
            continue
        name = next(n for n, info in fields.items() if (info.alias or n) == key)
        sub, shape = _models_in(fields[name].annotation)
        if sub is None:
            continue
        if shape == "dict" and isinstance(value, dict):
            for k, v in value.items():
                problems += unknown_keys(sub, v, f"{where}.{k}")
        elif shape == "list" and isinstance(value, list):
            for i, v in enumerate(value):
                problems += unknown_keys(sub, v, f"{where}[{i}]")
        elif shape == "":
            problems += unknown_keys(sub, value, where)
    return problems
