"""Atomic writes: all or nothing, and the permissions a plain open() would give."""

from __future__ import annotations

import os
import stat

import pytest

from tlexplorer import fsio


def test_atomic_write_gives_the_mode_open_would_not_mkstemps_0600(tmp_path):
    path = tmp_path / "report.csv"
    old = os.umask(0o022)
    try:
        fsio.atomic_write_text(path, "a,b\n")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
        os.umask(0o077)
        fsio.atomic_write_text(path, "a,b\n1,2\n")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    finally:
        os.umask(old)
    assert path.read_text() == "a,b\n1,2\n"


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "x.json"
    fsio.atomic_write_json(path, {"a": 1})

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        fsio.atomic_write(path, broken)
    assert fsio.read_json(path) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
