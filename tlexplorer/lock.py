"""One process at a time per workspace: an advisory lock on ``WORKSPACE/.tlexplorer.lock``.

Two processes training or capturing into one workspace would race on the same model and cache
files. The lock is ``flock``-based, so it disappears with its process (no stale lock after a
crash or kill -9). The file records who holds it, for the second process's message.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from tlexplorer.errors import UserError

LOCK_NAME = ".tlexplorer.lock"


@contextlib.contextmanager
def workspace_lock(workspace: Path, command: str) -> Iterator[bool]:
    """Hold the workspace's lock for the duration; yields whether a lock is held.

    A second holder gets :class:`UserError` naming the process that has it. Where no lock can
    be taken at all (a read-only workspace, a system without ``flock``), work goes on unlocked:
    whatever cannot be written there will say so itself.
    """
    try:
        import fcntl
    except ImportError:  # not on this platform: nothing to lock with
        yield False
        return
    path = Path(workspace) / LOCK_NAME
    try:
        Path(workspace).mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise UserError(f"workspace {workspace} is in use by {holder}; wait for it to "
                            "finish or use another --workspace") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} (tlexplorer {command})".encode(), 0)
        try:
            yield True
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
