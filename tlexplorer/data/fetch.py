"""``tlexplorer data fetch``: download and unpack Microsoft PetImages, dropping unreadable files.

Steps, each safe to interrupt (a rerun picks up where a finished step left off):

1. download ``url`` (http, https or file) to ``dest/kagglecatsanddogs.zip.part``, renamed to
   ``dest/kagglecatsanddogs.zip`` only once complete; an existing archive is reused;
2. extract into a temporary folder inside ``dest``;
3. delete the files of ``Cat/`` and ``Dog/`` that the pipeline's decoder cannot read (empty,
   truncated, not images); no header heuristics, so PNG or Exif-only JPEG files are kept;
4. write a marker file, then rename the folder to ``dest/PetImages``: if that folder exists,
   the whole job is done.

No TensorFlow or Keras is imported: the download uses :mod:`urllib`.
"""

from __future__ import annotations

import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tlexplorer.data.decode import decode_problem
from tlexplorer.data.layouts import PETIMAGES_FOLDERS
from tlexplorer.errors import UserError
from tlexplorer.fsio import atomic_write_json, read_json

PETIMAGES_URL = (
    "https://download.microsoft.com/download/3/E/1/3E1C3F21-ECDB-4869-8368-6DEBA77B919F/"
    "kagglecatsanddogs_5340.zip"
)
ARCHIVE_NAME = "kagglecatsanddogs.zip"
FOLDER_NAME = "PetImages"
MARKER_NAME = ".tlexplorer-fetch.json"
"""Written inside the extracted folder before it is renamed into place."""

_CHUNK = 1 << 20
MAX_ARCHIVE_BYTES = 3 << 29  # 1.5 GiB; the PetImages archive is about 0.8 GB
MAX_UNPACKED_BYTES = 2 << 30  # 2 GiB; PetImages unpacks to under 1 GB
MAX_ENTRIES = 50_000  # PetImages holds about 25,000 files
_TMP_PREFIX = f".{FOLDER_NAME}."
_TMP_SUFFIX = ".tmp"


@dataclass
class FetchResult:
    """Outcome of :func:`fetch_petimages`."""

    root: Path
    """The ``PetImages`` folder (holds ``Cat/`` and ``Dog/``)."""
    downloaded: bool
    """True when the archive was downloaded by this call."""
    images: int
    """Decodable images left in ``Cat/`` and ``Dog/``."""
    removed_corrupt: int
    """Files the decoder cannot read, deleted after extraction."""


def fetch_petimages(
    dest: Path,
    url: str = PETIMAGES_URL,
    progress: Callable[[int, int | None], None] | None = None,
    timeout: float = 60,
) -> FetchResult:
    """Download (or reuse) the PetImages archive into ``dest`` and unpack it as ``dest/PetImages``.

    ``progress(bytes_done, bytes_total_or_None)`` is called while downloading. Network, HTTP and
    archive errors raise :class:`UserError` with one line; no ``.part`` file or half-extracted
    folder is left behind.
    """
    dest = Path(dest).expanduser()
    if dest.exists() and not dest.is_dir():
        raise UserError(f"download folder is a file: {dest}")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create download folder {dest}: {exc.strerror or exc}") from exc
    dest = dest.resolve()
    folder = dest / FOLDER_NAME
    archive = dest / ARCHIVE_NAME

    if folder.exists():
        marker = folder / MARKER_NAME
        if not marker.is_file():
            raise UserError(
                f"{folder} exists but was not made by 'tlexplorer data fetch': "
                "use it directly as the dataset folder, or move it away to fetch again"
            )
        return _finished(folder, marker)

    downloaded = False
    if not archive.is_file():
        _download(url, archive, progress, timeout)
        downloaded = True
    images, removed = _extract(archive, dest, url)
    return FetchResult(folder, downloaded, images, removed)


def _finished(folder: Path, marker: Path) -> FetchResult:
    try:
        info = read_json(marker)
        images, removed = int(info["images"]), int(info["removed_corrupt"])
    except (ValueError, KeyError, TypeError):
        images = sum(
            1 for name in PETIMAGES_FOLDERS for p in (folder / name).glob("*") if p.is_file()
        )
        removed = 0
    return FetchResult(folder, False, images, removed)


def _download(
    url: str,
    archive: Path,
    progress: Callable[[int, int | None], None] | None,
    timeout: float,
) -> None:
    part = archive.with_name(archive.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if total is not None and total > MAX_ARCHIVE_BYTES:
                raise UserError(f"download of {url} refused: {total / 2**30:.1f} GiB is far "
                                "more than the PetImages archive")
            done = 0
            if progress is not None:
                progress(done, total)
            # A leftover or planted .part (a symlink to a file worth keeping) is removed, never
            # followed: the download file is created afresh, exclusively, without following links.
            if part.is_symlink() or part.exists():
                part.unlink()
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                         0o644)
            with os.fdopen(fd, "wb") as out:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if done > MAX_ARCHIVE_BYTES:
                        raise UserError(f"download of {url} stopped: more than "
                                        f"{MAX_ARCHIVE_BYTES / 2**30:.1f} GiB, far more than "
                                        "the PetImages archive")
                    if progress is not None:
                        progress(done, total)
                out.flush()
                os.fsync(out.fileno())
        if total is not None and done != total:
            raise UserError(f"download of {url} failed: got {done} of {total} bytes")
        os.replace(part, archive)
    except UserError:
        part.unlink(missing_ok=True)
        raise
    except urllib.error.HTTPError as exc:
        part.unlink(missing_ok=True)
        raise UserError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        part.unlink(missing_ok=True)
        raise UserError(f"download of {url} failed: {exc.reason}") from exc
    except (OSError, ValueError, http.client.HTTPException) as exc:
        part.unlink(missing_ok=True)
        reason = str(exc) or type(exc).__name__
        raise UserError(f"download of {url} failed: {reason}") from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _check_limits(zf: zipfile.ZipFile, archive: Path) -> None:
    """Refuse an archive far larger than PetImages before unpacking it (a zip bomb unpacked
    1 GiB from 1 MB in 4 s). Python's zipfile never inflates a member past its declared size,
    so the declared sizes bound what extraction writes."""
    entries = zf.infolist()
    unpacked = sum(info.file_size for info in entries)
    if len(entries) > MAX_ENTRIES or unpacked > MAX_UNPACKED_BYTES:
        raise UserError(f"{archive.name} is not the PetImages archive: {len(entries)} entries "
                        f"unpacking to {unpacked / 2**30:.1f} GiB (limits: {MAX_ENTRIES} "
                        f"entries, {MAX_UNPACKED_BYTES / 2**30:.0f} GiB)")


def _extract(archive: Path, dest: Path, url: str) -> tuple[int, int]:
    """Unpack, clean and move into place; returns (images kept, undecodable files removed).

    A file is removed only when the pipeline's decoder cannot read it (PetImages holds empty,
    truncated and non-image files); PNG or Exif-only JPEG files are images and are kept.
    """
    for stale in dest.glob(f"{_TMP_PREFIX}*{_TMP_SUFFIX}"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, suffix=_TMP_SUFFIX, dir=dest))
    try:
        try:
            with zipfile.ZipFile(archive) as zf:
                _check_limits(zf, archive)
                zf.extractall(tmp)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
            archive.unlink(missing_ok=True)
            raise UserError(
                f"download of {url} failed: {archive.name} is not a valid zip archive ({exc}); "
                "it was removed, run again to download it anew"
            ) from exc
        src = tmp / FOLDER_NAME
        if not src.is_dir():
            src = tmp
        if not all((src / name).is_dir() for name in PETIMAGES_FOLDERS):
            raise UserError(
                f"{archive} holds no PetImages/Cat and PetImages/Dog: not the PetImages archive"
            )
        images = removed = 0
        for name in PETIMAGES_FOLDERS:
            for path in sorted((src / name).rglob("*")):
                if not path.is_file():
                    continue
                if decode_problem(path) is None:
                    images += 1
                else:
                    path.unlink()
                    removed += 1
        atomic_write_json(
            src / MARKER_NAME, {"images": images, "removed_corrupt": removed, "url": url}
        )
        os.rename(src, dest / FOLDER_NAME)
    except OSError as exc:
        raise UserError(f"unpacking {archive} failed: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return images, removed
