"""Fault table: bad input and damaged files end in one clear line, never a traceback.

Each case builds the bad input, runs the command in-process (as the console script would) and
checks the exit status, that stderr is a single line, that no traceback and no terminal escape
byte reached the output, and what was left behind. One case runs in a real subprocess to check
the last-resort guard end to end.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import jpeg_bytes, write

from tlexplorer import cli
from tlexplorer.cli import main
from tlexplorer.quiet import import_tensorflow

tf, keras = import_tensorflow()

ESC = "\x1b"


def run(capsys, *args: str) -> tuple[int, str, str]:
    """``tlexplorer args``: exit status, stdout, stderr — and the checks every case shares."""
    try:
        rc = main(list(args))
    except SystemExit as exc:  # argparse usage errors
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert ESC not in out + err and "\x07" not in out + err
    if rc != 0:
        assert len(err.strip().splitlines()) == 1, err
    return rc, out, err


def _folder(root: Path, classes=("cat", "dog"), n: int = 4) -> Path:
    for c, name in enumerate(classes):
        for i in range(n):
            write(root / name / f"{i}.jpg", jpeg_bytes(10 * c + i, 16))
    return root


def _model(path: Path, units: int = 1, activation: str = "sigmoid") -> Path:
    L = keras.layers
    model = keras.Sequential([keras.Input((12, 12, 3)), L.Rescaling(1 / 255),
                              L.Conv2D(2, 3, activation="relu"), L.GlobalAveragePooling2D(),
                              L.Dense(units, activation=activation)])
    model.save(path)
    return path


# -- usage errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("args,words", [
    (["--tau", "nan", "report"], "finite"),
    (["--tau", "inf", "report"], "finite"),
    (["report", "--tau", "-1"], "negative"),
    (["bench", "--topk", "-5"], "negative"),
    (["train", "--demo", "--models", "7"], "1 to 5"),
    (["train", "--demo", "--split", "1,2"], "three sizes"),
])
def test_usage_errors_are_one_line(capsys, args, words):
    rc, _, err = run(capsys, *args)
    assert rc == 2 and words in err


def test_a_file_given_as_workspace_or_out(capsys, tmp_path):
    afile = write(tmp_path / "afile", b"x")
    rc, _, err = run(capsys, "report", "--no-figures", "--workspace", str(afile))
    assert rc == 2 and "--workspace must be a folder" in err
    model = _model(tmp_path / "m.keras")
    rc, _, err = run(capsys, "analyze", "--no-figures",
                     str(model), "--data", str(_folder(tmp_path / "d")),
                     "--out", str(afile), "--workspace", str(tmp_path))
    assert rc == 2 and "--out must be a folder" in err
    assert afile.read_bytes() == b"x"


# -- models that do not fit -----------------------------------------------------------------


def test_models_that_cannot_be_analysed(capsys, tmp_path):
    data = _folder(tmp_path / "d")
    common = ["--data", str(data), "--workspace", str(tmp_path), "--out", str(tmp_path / "o")]
    garbage = write(tmp_path / "garbage.keras", b"not a zip")
    rc, _, err = run(capsys, "analyze", "--no-figures", str(garbage), *common)
    assert rc == 2 and "not a .keras file" in err

    a, b = keras.Input((12, 12, 3)), keras.Input((12, 12, 3))
    two = keras.Model([a, b], keras.layers.Dense(1, activation="sigmoid")(
        keras.layers.Flatten()(keras.layers.Add()([a, b]))))
    two.save(tmp_path / "two.keras")
    rc, _, err = run(capsys, "analyze", "--no-figures", str(tmp_path / "two.keras"), *common)
    assert rc == 2 and "not supported" in err and "2 inputs" in err

    three = _model(tmp_path / "three.keras", units=3, activation="softmax")
    rc, _, err = run(capsys, "analyze", "--no-figures", str(three), *common)
    assert rc == 2 and "does not fit the data's 2 classes" in err

    keras.Sequential([keras.layers.Dense(2)]).save(tmp_path / "unbuilt.keras")
    rc, _, err = run(capsys, "analyze", "--no-figures", str(tmp_path / "unbuilt.keras"), *common)
    assert rc == 2 and ("never built" in err or "cannot load model" in err)
    assert not (tmp_path / "o").exists()  # nothing half-written


def test_train_inputs_that_cannot_work(capsys, tmp_path):
    data = _folder(tmp_path / "d", n=8)
    ws = ["--workspace", str(tmp_path / "ws")]
    rc, _, err = run(capsys, "train", "--data", str(data), "--split", "5,3,3", *ws)
    assert rc == 2 and "divide by the 2 classes" in err and "--split 6,4,4" in err
    rc, _, err = run(capsys, "train", "--data", str(data), "--image-size", "20", *ws)
    assert rc == 2 and "too small" in err and "46 px" in err
    assert not list((tmp_path / "ws").glob("models/*/*.keras"))


# -- names from data: no escapes, no formulas -----------------------------------------------


def test_hostile_folder_names_are_shown_escaped_and_csv_safe(capsys, tmp_path):
    data = tmp_path / "d"
    hostile = "\x1b]2;owned\x07"
    formula = "=HYPERLINK(1)"
    _folder(data, classes=(hostile, formula), n=3)
    model = _model(tmp_path / "m.keras")
    out = tmp_path / "o"
    rc, text, _ = run(capsys, "analyze", "--no-figures",
                      str(model), "--data", str(data), "--out", str(out),
                      "--workspace", str(tmp_path))
    assert rc == 0
    with open(out / "confusion.csv", newline="") as handle:
        cells = {r["true"] for r in csv.DictReader(handle)}
    assert "'=HYPERLINK(1)" in cells  # a formula neutralised, readable
    assert "\\x1b]2;owned\\x07" in cells  # control characters made visible
    skipped = (out / "top_images.csv").read_text()
    assert ESC not in skipped and "\x07" not in skipped
    # a hostile name in a path given by the user, in an error
    rc, _, err = run(capsys, "analyze", "--no-figures",
                     str(tmp_path / f"{hostile}.keras"), "--data", str(data))
    assert rc == 2 and "\\x1b" in err


# -- damaged files --------------------------------------------------------------------------


def _crafted_cache(path: Path) -> None:
    """A cache entry whose 'labels' header promises 10**12 values it does not hold."""
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.int64))
    header["shape"] = (10**12,)
    with zipfile.ZipFile(path, "a") as archive:
        data = archive.read("labels.npy")
    buffer = bytearray()

    class Sink:
        def write(self, chunk):
            buffer.extend(chunk)

    np.lib.format.write_array_header_1_0(Sink(), header)
    rebuilt = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(rebuilt, "w") as dst:
        for item in src.namelist():
            dst.writestr(item, bytes(buffer) + data[-8:] if item == "labels.npy"
                         else src.read(item))
    rebuilt.replace(path)


def _analyzed(capsys, tmp_path: Path) -> tuple[list[str], Path]:
    """An analyze run that succeeded: its arguments and the one cache entry it wrote."""
    data = _folder(tmp_path / "d")
    model = _model(tmp_path / "m.keras")
    args = ["analyze", "--no-figures",
            str(model), "--data", str(data), "--workspace", str(tmp_path),
            "--out", str(tmp_path / "o")]
    assert run(capsys, *args)[0] == 0
    [entry] = list((tmp_path / "cache").glob("capture-*.npz"))
    return args, entry


def test_crafted_and_damaged_cache_entries_are_recomputed(capsys, tmp_path):
    args, entry = _analyzed(capsys, tmp_path)
    first = (tmp_path / "o" / "summary.csv").read_text()
    _crafted_cache(entry)
    rc, text, _ = run(capsys, *args)
    assert rc == 0 and "corrupt cache entry, recomputing" in text
    assert "allow_pickle" not in text
    assert (tmp_path / "o" / "summary.csv").read_text() == first
    # wrong shapes and out-of-range indices are caught too
    from tlexplorer.cache import CacheError, load_result, save_result

    result, extra = load_result(entry)
    result.topk[result.layers[0].name].indices[0, 0] = 10**6
    save_result(entry, result, extra)
    with pytest.raises(CacheError, match="corrupt cache entry"):
        load_result(entry)
    result.topk[result.layers[0].name].indices[0, 0] = 0
    result.layers[0].unit_max = np.zeros(5, np.float32)
    save_result(entry, result, extra)
    with pytest.raises(CacheError):
        load_result(entry)
    rc, text, _ = run(capsys, *args)
    assert rc == 0 and "corrupt cache entry" in text


def test_hand_edited_suite_metadata(capsys, tmp_path):
    suite = tmp_path / "models" / "synthetic-demo"
    write(suite / "suite.json", json.dumps({"data": ["not", "a", "dict"]}).encode())
    rc, _, err = run(capsys, "report", "--no-figures", "--workspace", str(tmp_path))
    assert rc == 2 and "damaged" in err


def test_hand_edited_model_metadata_is_unreadable_not_a_crash(tmp_path):
    from tlexplorer.suite import META_FORMAT, model_files

    files = model_files(tmp_path, "s", 1)
    write(files.model_path, b"zip?")
    write(files.meta_path, json.dumps({"format": META_FORMAT, "data": [1],
                                       "model_sha256": 5}).encode())
    meta, why = files.check("abc")
    assert meta is None and "wrong types" in why


# -- the last guard -------------------------------------------------------------------------


def test_an_unexpected_error_is_one_line_and_a_log(capsys, tmp_path, monkeypatch):
    def broken(args):
        raise RuntimeError("something nobody foresaw\nsecond line")

    monkeypatch.setitem(cli.COMMANDS, "bench", broken)
    rc, _, err = run(capsys, "bench")
    assert rc == 1 and "unexpected error: RuntimeError: something nobody foresaw" in err
    log = Path(err.split("traceback in ")[1].rstrip(")\n"))
    assert "Traceback" in log.read_text()


def test_no_traceback_reaches_the_terminal_in_a_real_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tlexplorer.cli", "analyze",
                           str(tmp_path / "missing.keras"), "--data", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


# -- files on disk ----------------------------------------------------------------------------


def test_fetch_never_writes_through_a_planted_symlink(tmp_path):
    from data_fixtures import make_petimages_zip

    from tlexplorer.data.fetch import ARCHIVE_NAME, fetch_petimages

    archive = make_petimages_zip(tmp_path / "www" / "pets.zip", 2)
    precious = write(tmp_path / "precious.txt", b"keep me")
    dest = tmp_path / "data"
    dest.mkdir()
    (dest / (ARCHIVE_NAME + ".part")).symlink_to(precious)
    result = fetch_petimages(dest, url=archive.as_uri())
    assert result.images > 0
    assert precious.read_bytes() == b"keep me"


def test_temp_files_left_by_a_killed_process_are_removed(tmp_path):
    import os
    import time

    from tlexplorer.fsio import atomic_write_text, remove_stale_temps

    atomic_write_text(tmp_path / "summary.csv", "a\n")
    old = write(tmp_path / ".summary.csv.abc123.tmp", b"half")
    fresh = write(tmp_path / ".layers.csv.def456.tmp", b"being written")
    hour_ago = time.time() - 7200
    os.utime(old, (hour_ago, hour_ago))
    assert remove_stale_temps(tmp_path) == 1
    assert not old.exists() and fresh.exists()  # a concurrent writer's file stays
    assert (tmp_path / "summary.csv").read_text() == "a\n"


def test_train_prints_hostile_class_names_escaped(capsys, tmp_path):
    data = _folder(tmp_path / "d", classes=("\x1b[2Jclear", "[red]tag"), n=4)
    rc, out, _ = run(capsys, "train", "--data", str(data), "--preset", "smoke", "--split",
                     "4,2,2", "--models", "1", "--epochs", "1", "--workspace", str(tmp_path))
    assert rc == 0
    assert "\\x1b[2Jclear" in out and "[red]tag" in out  # shown, not obeyed or eaten


def test_fetch_refuses_an_archive_that_unpacks_far_too_large(tmp_path, monkeypatch):
    from tlexplorer.data import fetch
    from tlexplorer.errors import UserError

    bomb = tmp_path / "www" / "bomb.zip"
    bomb.parent.mkdir()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("PetImages/Cat/zeros.jpg", bytes(4 << 20))  # 4 MiB of zeros, tiny zipped
    monkeypatch.setattr(fetch, "MAX_UNPACKED_BYTES", 1 << 20)
    with pytest.raises(UserError, match="not the PetImages archive"):
        fetch.fetch_petimages(tmp_path / "data", url=bomb.as_uri())
    assert not (tmp_path / "data" / "PetImages").exists()
    assert not list((tmp_path / "data").glob(".PetImages.*"))


def test_a_second_process_on_a_workspace_is_told_who_holds_it(capsys, tmp_path):
    from tlexplorer.lock import workspace_lock

    with workspace_lock(tmp_path, "train"):
        rc, _, err = run(capsys, "report", "--no-figures", "--workspace", str(tmp_path))
        assert rc == 2 and "in use by process" in err and "tlexplorer train" in err
    rc, _, err = run(capsys, "report", "--no-figures", "--workspace", str(tmp_path))
    assert "in use" not in err  # released: now it fails for its own reason (no models)


def test_a_failure_while_writing_reports_leaves_the_old_set_whole(tmp_path, monkeypatch):
    import errno
    import os

    from tlexplorer import fsio
    from tlexplorer.fsio import atomic_write_many

    old = {tmp_path / f"{name}.csv": f"old {name}\n".encode() for name in "abcd"}
    atomic_write_many(old)
    calls = {"n": 0}
    real_fsync = os.fsync

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(fsio.os, "fsync", fsync)
    with pytest.raises(OSError):
        atomic_write_many({path: b"new\n" for path in old})
    assert {p: p.read_bytes() for p in old} == old
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in sorted(old)]


def test_an_unexpected_error_in_the_explorer_is_one_line_and_a_log(tmp_path):
    from rich.text import Text

    from tlexplorer.tui.app import _crash_report, create_app

    app = create_app(tmp_path)
    try:
        raise RuntimeError("a widget fell over\nsecond line")
    except RuntimeError as exc:
        app._exception = exc
    _crash_report(app, tmp_path)
    [line] = [r for r in app._exit_renderables if isinstance(r, Text)]
    assert "stopped on an unexpected error: RuntimeError: a widget fell over" in line.plain
    assert "\n" not in line.plain
    log = tmp_path / "cache" / "tlexplorer-error.log"
    assert str(log) in line.plain and "Traceback" in log.read_text()


def test_file_and_folder_names_that_are_not_utf8(capsys, tmp_path):
    import os

    data = _folder(tmp_path / "d", n=4)
    odd = os.fsdecode(b"caf\xe9")  # Latin-1 bytes, not UTF-8
    write(data / "cat" / f"{odd}.jpg", jpeg_bytes(77, 16))
    write(data / "dog" / f"{odd}.jpg", jpeg_bytes(78, 16))
    model = _model(tmp_path / "m.keras")
    out = tmp_path / "o"
    rc, _, _ = run(capsys, "analyze", "--no-figures",
                   str(model), "--data", str(data), "--out", str(out),
                   "--workspace", str(tmp_path))
    assert rc == 0
    assert "caf\\udce9.jpg" in (out / "top_images.csv").read_text(encoding="utf-8")
    rc, _, _ = run(capsys, "train", "--data", str(data), "--preset", "smoke", "--split",
                   "6,2,2", "--models", "1", "--epochs", "1", "--workspace", str(tmp_path / "w"))
    assert rc == 0


def test_a_folder_where_a_cache_file_should_be(capsys, tmp_path):
    args, entry = _analyzed(capsys, tmp_path)
    entry.unlink()
    entry.mkdir()
    rc, _, err = run(capsys, *args)
    assert rc == 2 and "directory" in err.lower() and entry.name in err


@pytest.fixture
def read_only_workspace(tmp_path):
    """A fully cached workspace (no TensorFlow needed) behind a read-only bind mount."""
    import os
    import shutil

    from fake_workspace import make_cached_workspace

    source = make_cached_workspace(tmp_path / "src")
    mount = tmp_path / "ro"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    ok = subprocess.run(["mount", "--bind", str(source), str(mount)], capture_output=True)
    if ok.returncode != 0:
        pytest.skip("mount is not allowed here")
    try:
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(mount)],
                          capture_output=True).returncode != 0:
            pytest.skip("a read-only remount is not allowed here")
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)
        shutil.rmtree(mount, ignore_errors=True)


def test_a_read_only_workspace_can_be_reported_and_browsed(capsys, tmp_path,
                                                           read_only_workspace):
    ws = read_only_workspace
    rc, _, _ = run(capsys, "report", "--no-figures",
                   "--workspace", str(ws), "--out", str(tmp_path / "out"))
    assert rc == 0 and (tmp_path / "out" / "summary.csv").is_file()
    rc, _, err = run(capsys, "report", "--no-figures",
                     "--workspace", str(ws))  # reports/ inside: not writable
    assert rc == 2 and "Read-only file system" in err and str(ws) in err


async def test_the_explorer_browses_a_read_only_workspace(read_only_workspace):
    from tlexplorer.tui.app import create_app

    app = create_app(read_only_workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(app.figures) == 5


def test_a_full_disk_is_one_line_and_leaves_no_half_written_reports(capsys, tmp_path):
    import os

    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    data = _folder(tmp_path / "d")
    model = _model(tmp_path / "m.keras")
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)],
                      capture_output=True).returncode != 0:
        pytest.skip("mount is not allowed here")
    try:
        write(small / "filler", b"\0" * (60 << 10))
        rc, _, err = run(capsys, "analyze", "--no-figures",
                         str(model), "--data", str(data), "--workspace",
                         str(tmp_path), "--out", str(small / "reports"))
        assert rc == 2 and "No space left on device" in err
        leftovers = [p.name for p in (small / "reports").glob("*")] if (
            small / "reports").exists() else []
        assert leftovers == []  # no half set, no temp files
    finally:
        subprocess.run(["umount", str(small)], capture_output=True)


def test_the_crash_log_shows_names_escaped(capsys, tmp_path, monkeypatch):
    def broken(args):
        raise RuntimeError("bad name \x1b]2;owned\x07 here")

    monkeypatch.setitem(cli.COMMANDS, "bench", broken)
    rc, _, err = run(capsys, "bench")
    log = Path(err.split("traceback in ")[1].rstrip(")\n")).read_text()
    assert ESC not in log and "\\x1b]2;owned\\x07" in log and "\n" in log
