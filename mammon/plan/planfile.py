"""Saving and loading plans: YAML (default) or JSON with identical content, sealed by a content hash.

The hash is sha256 over the canonical JSON (sorted keys, no spaces) of everything but the hash itself,
so YAML and JSON copies of one plan carry the same hash, and any edit is caught on load.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml

from mammon.errors import InputError, TamperedPlanError
from mammon.files import loads_yaml, parse_model, read_data, write_output
from mammon.plan.model import FORMAT_VERSION, Plan

Format = Literal["yaml", "json"]


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(plan: Plan) -> str:
    body = plan.model_dump(mode="json", exclude={"content_hash"}, exclude_none=True)
    return "sha256:" + hashlib.sha256(canonical_json(body).encode()).hexdigest()


def seal(plan: Plan) -> Plan:
    """Return the plan with its content hash set."""
    return plan.model_copy(update={"content_hash": content_hash(plan)})


def dumps(plan: Plan, fmt: Format = "yaml") -> str:
    data = plan.model_dump(mode="json", exclude_none=True)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)


def dump(plan: Plan, path: str | Path, fmt: Format | None = None) -> None:
    """Write the plan file, all or nothing; a path that cannot be written is an InputError naming it."""
    path = Path(path)
    fmt = fmt or ("json" if path.suffix == ".json" else "yaml")
    write_output(path, dumps(plan, fmt))


def parse(data: Any, *, where: str, verify_hash: bool = True) -> Plan:
    if not isinstance(data, dict):
        raise InputError("not a plan: expected a mapping at the top level", where=where)
    version = str(data.get("format_version", ""))
    if version.split(".")[0] != FORMAT_VERSION.split(".")[0]:
        shown = version if len(version) <= 20 else version[:20] + f"… ({len(version)} characters)"  # an error is one short line
        raise InputError(f"format_version {shown or '(missing)'} is not supported (this mammon reads {FORMAT_VERSION.split('.')[0]}.x)", where=where)
    plan = parse_model(Plan, data, where=where)
    if verify_hash:
        actual = content_hash(plan)
        if plan.content_hash != actual:
            raise TamperedPlanError(
                f"content_hash mismatch: the file says {plan.content_hash or '(none)'} but its content hashes to {actual}; "
                "the plan was changed after it was compiled, compile it again",
                where=where,
            )
    return plan


def load(path: str | Path, *, verify_hash: bool = True) -> Plan:
    """Load and verify a plan file; refuses unknown fields, other major versions and a wrong hash."""
    return parse(read_data(path), where=str(path), verify_hash=verify_hash)


def loads(text: str, *, where: str = "<plan>") -> Plan:
    """A plan from YAML (or JSON) text, read as a plan file is (depth-bounded, no aliases, no duplicate keys)."""
    return parse(loads_yaml(text, where=where), where=where)
