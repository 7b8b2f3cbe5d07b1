"""The pytest plugin users get with mammon: `mammon_snapshot` stores plans as readable YAML files."""

from __future__ import annotations

from typing import Any

from mammon import Recommendation, compile_plan
from mammon.plan.planfile import dumps
from mammon.testing import MammonSnapshotExtension, canonical
from mammon_test_support import NOW, WALLET


def test_a_plan_snapshot_is_its_canonical_yaml(mammon_snapshot: Any) -> None:
    plan = compile_plan(Recommendation(to_protocol="morpho", token="WETH", amount="0.5"), chain="base", wallet=WALLET, now=NOW)
    assert canonical(plan) == dumps(plan, "yaml")
    assert MammonSnapshotExtension.file_extension == "yaml"
    assert plan == mammon_snapshot
