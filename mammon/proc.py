"""Child processes and liveness, shared by the devnet's anvil, the fork runner, solc-js and the wallet lock;
helper children that die with their parent (forks)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

# What a child process (anvil, node) may see of mammon's environment: only these, never the rest.
# An allow-list, not a deny-list: MAMMON_PRIVATE_KEY, MAMMON_MNEMONIC, MAMMON_KEYSTORE_PASSWORD, ETH_RPC_URL
# (which may carry an API key) and whatever secret a user's shell holds stay with mammon.
CHILD_ENV_KEYS = frozenset({"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TEMP", "TMP",
                            "SYSTEMROOT"})


def child_env(**extra: str) -> dict[str, str]:
    """An explicit, scrubbed environment for a child process: the allow-listed variables plus `extra`."""
    env = {key: value for key, value in os.environ.items() if key in CHILD_ENV_KEYS}
    env.update(extra)
    return env


def pid_alive(pid: int) -> bool:
    """True while `pid` runs; reaps it first if it is our own exited child (else it lingers as a zombie)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def die_with_parent() -> Callable[[], None]:
    """A `preexec_fn` for a helper process (a fork's anvil) that must not outlive mammon: Linux's
    PR_SET_PDEATHSIG makes the kernel SIGKILL the child when its parent dies, kill -9 included.
    Elsewhere it does nothing (the parent's own cleanup still stops the child on a normal exit)."""
    parent = os.getpid()

    def preexec() -> None:
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:  # the parent died before the death signal was armed
            os._exit(1)

    return preexec
