"""Atomic file writes: a temp file in the target folder, fsync, then rename over the target.

A reader (or a later run after Ctrl+C) sees either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(path: Path, write: Callable[[Path], None], suffix: str = "") -> None:
    """Call ``write(tmp_path)`` and move the finished file to ``path`` in one rename.

    ``suffix`` keeps an extension on the temp name for writers that insist on one (Keras wants
    ``.keras``, numpy ``.npz``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp(path, suffix)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _new_temp(path: Path, suffix: str) -> Path:
    """A new empty temp file beside ``path``, made with the mode a plain open() gives.

    (``tempfile.mkstemp`` makes 0600, which left reports and models unreadable to a group.)
    """
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp{suffix}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp


def atomic_write_many(contents: dict[Path, bytes]) -> None:
    """Write several files as one set: all temp files first (fsynced), then the renames.

    If any write fails, every temp file is removed and no target has changed.
    """
    temps: list[tuple[Path, Path]] = []
    try:
        for path, data in contents.items():
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = _new_temp(path, "")
            temps.append((tmp, path))
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
    except BaseException:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, path in temps:
        os.replace(tmp, path)


STALE_TEMP_S = 3600.0
"""A temp file untouched this long was left by a killed process (writes take seconds)."""


def remove_stale_temps(folder: Path, older_than_s: float = STALE_TEMP_S) -> int:
    """Delete the temp files of :func:`atomic_write` that a killed process left in ``folder``
    (only those older than ``older_than_s``, so a concurrent writer's file is left alone);
    returns how many. Errors (a read-only folder) are ignored: cleaning is best effort."""
    import time

    removed = 0
    try:
        candidates = list(Path(folder).glob(".*.tmp*"))
    except OSError:
        return 0
    now = time.time()
    for path in candidates:
        try:
            if path.is_file() and not path.is_symlink() and \
                    now - path.stat().st_mtime > older_than_s:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: Path) -> Any:
    """Read a JSON file; raises ``ValueError`` (not a bare decode error) when it is unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: unreadable JSON ({exc})") from exc
