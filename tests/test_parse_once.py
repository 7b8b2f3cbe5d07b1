"""Files are parsed once per process, and read again as soon as they change (issue #10)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from mammon.chains import DATA, load_chain, load_chain_file
from mammon.errors import InputError
from mammon.filecache import FileCache
from mammon.market import DEFAULT_WORLD, load_market


def test_a_chain_config_is_parsed_once_per_process() -> None:
    assert load_chain("base") is load_chain("base")
    assert load_chain_file(DATA / "base.yaml") is load_chain("base")


def test_an_edited_chain_config_is_read_again(tmp_path: Path) -> None:
    data = yaml.safe_load((DATA / "base.yaml").read_text())
    path = tmp_path / "mine.yaml"
    data["name"] = "mine"
    path.write_text(yaml.safe_dump(data))
    assert load_chain_file(path).name == "mine"
    data["name"] = "ours"  # same length, written at once: the timestamps may not tell the two apart
    path.write_text(yaml.safe_dump(data))
    assert load_chain_file(path).name == "ours"


def test_an_old_file_edited_in_place_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    data = yaml.safe_load((DATA / "base.yaml").read_text())
    for name in ("mine", "ours"):
        data["name"] = name
        path.write_text(yaml.safe_dump(data))
        os.utime(path, (1_700_000_000, 1_700_000_000))  # the same old modification time both times
        assert load_chain_file(path).name == name


def test_a_file_that_cannot_be_parsed_is_refused_every_time(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    for _ in range(2):
        with pytest.raises(InputError, match="malformed YAML"):
            load_chain_file(path)
    path.unlink()
    with pytest.raises(InputError, match="file not found"):
        load_chain_file(path)


def test_a_world_keeps_its_own_source_name(tmp_path: Path) -> None:
    copy = tmp_path / "world.yaml"
    copy.write_bytes(DEFAULT_WORLD.read_bytes())
    assert load_market().source.startswith("embedded defaults")
    assert load_market(copy).source == str(copy)
    assert load_market(copy).prices_usd == load_market().prices_usd


def test_the_cache_forgets_the_least_recently_used(tmp_path: Path) -> None:
    calls: list[str] = []

    def parse(path: Path) -> str:
        calls.append(path.name)
        return path.read_text()

    cache: FileCache[str] = FileCache(parse, size=2, racy_seconds=0)
    files = []
    for name in "abc":
        (tmp_path / name).write_text(name)
        files.append(tmp_path / name)
    for path in files + files[-1:]:
        cache.get(path)
    assert calls == ["a", "b", "c"]
    assert cache.get(files[0]) == "a" and calls[-1] == "a", "the oldest entry was dropped and parsed again"
