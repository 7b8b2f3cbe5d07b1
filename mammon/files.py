"""Reading user files (YAML or JSON) into pydantic models, with one-line errors naming file and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from mammon.errors import InputError

M = TypeVar("M", bound=BaseModel)


def read_data(path: str | Path) -> Any:
    """Parse a YAML or JSON file (JSON is YAML, but JSON errors read better from the json module)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", where=str(path)) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file ({exc.__class__.__name__})", where=str(path)) from None
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", where=str(path)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "cannot parse"
        raise InputError(f"malformed YAML{at}: {problem}", where=str(path)) from None


def describe_validation(exc: ValidationError) -> str:
    """All problems of a pydantic error on one line: `field.path: message; ...`."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def parse_model(model: type[M], data: Any, *, where: str) -> M:
    """Validate data against a model, turning every problem into one InputError line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(describe_validation(exc), where=where) from None


def load_model(model: type[M], path: str | Path) -> M:
    return parse_model(model, read_data(path), where=str(path))
