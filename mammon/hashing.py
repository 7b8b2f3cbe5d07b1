"""keccak-256, from pycryptodome's compiled keccak (the backend eth-hash uses).

Checksummed addresses and function selectors need keccak while a plan is reviewed; eth-utils' `keccak`
costs about 50 ms of imports (and eth-hash's `auto` module reads package metadata), this a few ms.

Why not `Crypto.Hash.keccak.new(...).digest()` on every call: its Python wrapper (a hash object, a state
allocated and freed through ctypes, argument objects) costs more than hashing a transaction or an address.
Here the same C functions are called on one state, reset before each digest; a caller that finds the state in
use (ctypes releases the GIL during the calls, so another thread may hold it) takes pycryptodome's own API
instead of waiting, as does every caller where that library cannot be loaded this way.
tests/test_hashing.py checks both against each other and against known digests.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from Crypto.Hash import keccak as _keccak

_RATE_CAPACITY = 64  # keccak-256: a 512-bit capacity, in bytes
_ROUNDS = 24
_PADDING = 0x01  # keccak's original padding (NIST SHA3-256 uses 0x06)


def keccak256_reference(data: bytes) -> bytes:
    """pycryptodome's keccak-256 through its public API (the fallback, and what tests compare against)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):  # pycryptodome would hash None as b""
        raise TypeError(f"keccak256 takes bytes, not {type(data).__name__}")
    return _keccak.new(data=data, digest_bits=256).digest()


def _direct() -> Callable[[bytes], bytes] | None:
    """keccak-256 over pycryptodome's `_keccak` library called directly; None when it cannot be loaded so."""
    folder = Path(_keccak.__file__).parent
    lib = None
    for suffix in EXTENSION_SUFFIXES:
        try:
            lib = ctypes.CDLL(str(folder / f"_keccak{suffix}"))  # its own handle: pycryptodome's functions stay as they are
            break
        except OSError:
            continue
    if lib is None:
        return None
    try:
        init, reset, absorb, digest = lib.keccak_init, lib.keccak_reset, lib.keccak_absorb, lib.keccak_digest
    except AttributeError:  # a pycryptodome without these functions: its own API
        return None
    state = ctypes.c_void_p()
    if init(ctypes.byref(state), ctypes.c_size_t(_RATE_CAPACITY), ctypes.c_ubyte(_ROUNDS)) != 0:
        return None
    out = ctypes.create_string_buffer(32)
    lock = threading.Lock()
    size, padding, digest_size = ctypes.c_size_t, ctypes.c_ubyte(_PADDING), ctypes.c_size_t(32)

    def keccak256(data: bytes) -> bytes:
        """The 32-byte keccak-256 digest of `data` (Ethereum's hash, not NIST SHA3-256)."""
        if type(data) is not bytes:
            if not isinstance(data, (bytearray, memoryview)):
                raise TypeError(f"keccak256 takes bytes, not {type(data).__name__}")
            data = bytes(data)  # ctypes passes bytes as a pointer to their buffer
        if not lock.acquire(blocking=False):  # the state is in use (another thread, a signal handler, a fork's child)
            return keccak256_reference(data)
        try:
            if reset(state) or absorb(state, data, size(len(data))) or digest(state, out, digest_size, padding):
                raise ValueError("keccak-256 failed in pycryptodome's library")
            return out.raw
        finally:
            lock.release()

    # Checked once here: a library that answers differently is not used.
    probes = (b"", b"abc", bytes(range(256)) * 3)
    if all(keccak256(p) == keccak256_reference(p) for p in probes):
        return keccak256
    return None


keccak256: Callable[[bytes], bytes] = _direct() or keccak256_reference
