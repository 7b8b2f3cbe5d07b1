"""keccak-256, straight from pycryptodome (the backend eth-hash uses).

Checksummed addresses and function selectors need keccak while a plan is reviewed; eth-utils' `keccak`
costs about 50 ms of imports (and eth-hash's `auto` module reads package metadata), this a few ms.
"""

from __future__ import annotations

from Crypto.Hash import keccak as _keccak


def keccak256(data: bytes) -> bytes:
    """The 32-byte keccak-256 digest of `data` (Ethereum's hash, not NIST SHA3-256)."""
    return _keccak.new(data=data, digest_bits=256).digest()
