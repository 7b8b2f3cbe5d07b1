"""keccak-256 as mammon computes it: pycryptodome's library called directly must give pycryptodome's digests."""

from __future__ import annotations

import random
import threading

import pytest

from mammon.hashing import keccak256, keccak256_reference


def test_known_digests() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"transfer(address,uint256)")[:4].hex() == "a9059cbb"


def test_direct_matches_pycryptodome_for_every_length_around_the_rate() -> None:
    rng = random.Random(7)
    for n in [*range(0, 300), 1000, 4096, 100_000]:
        data = rng.randbytes(n)
        assert keccak256(data) == keccak256_reference(data), n


def test_other_buffers_hash_as_their_bytes() -> None:
    data = b"mammon" * 30
    assert keccak256(bytearray(data)) == keccak256(memoryview(data)) == keccak256_reference(data)


@pytest.mark.parametrize("value", [None, 5, [1, 2, 3], "0xab"])
def test_what_is_not_bytes_is_refused(value: object) -> None:
    with pytest.raises(TypeError):
        keccak256(value)  # type: ignore[arg-type]


def test_threads_get_their_own_digests() -> None:
    inputs = [random.Random(i).randbytes(i * 7) for i in range(64)]
    expected = [keccak256_reference(d) for d in inputs]
    wrong: list[int] = []

    def work() -> None:
        for _ in range(50):
            for i, d in enumerate(inputs):
                if keccak256(d) != expected[i]:
                    wrong.append(i)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_the_compiled_library_is_the_one_in_use() -> None:
    """Where pycryptodome's library loads (it does wherever mammon's dependencies install), the direct path serves."""
    assert keccak256 is not keccak256_reference
