"""``data fetch``: cached download over http/file URLs, extraction, clean-up of undecodable
files, failures."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from data_fixtures import make_petimages_zip, write

from tlexplorer.data.fetch import ARCHIVE_NAME, MARKER_NAME, fetch_petimages
from tlexplorer.data.layouts import scan_dataset
from tlexplorer.errors import UserError

N_GOOD = 3  # per class; the archive also holds a PNG named .jpg and 2 undecodable files


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server over ``tmp_path/www`` (holding pets.zip); yields (base URL, folder)."""
    www = tmp_path / "www"
    make_petimages_zip(www / "pets.zip", N_GOOD)
    handler = functools.partial(_QuietHandler, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", www
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir() if p.name.endswith((".part", ".tmp")))


def test_fetch_over_http_then_reuse(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    dest = tmp_path / "data"
    calls: list[tuple[int, int | None]] = []
    result = fetch_petimages(
        dest, url=f"{base}/pets.zip", progress=lambda d, t: calls.append((d, t))
    )
    size = (www / "pets.zip").stat().st_size
    assert result.downloaded is True
    assert result.root == (dest / "PetImages").resolve()
    assert (result.images, result.removed_corrupt) == (2 * N_GOOD + 1, 2)
    assert calls[0] == (0, size) and calls[-1] == (size, size)
    assert (dest / ARCHIVE_NAME).stat().st_size == size
    assert (result.root / MARKER_NAME).is_file()
    assert (result.root / "Cat" / "666.jpg").exists()  # a PNG named .jpg is an image: kept
    assert not (result.root / "Dog" / "cut.jpg").exists()  # truncated: removed
    assert not (result.root / "Dog" / "Thumbs.db").exists()
    assert not (dest / "readme[1].txt").exists()
    assert _leftovers(dest) == []

    scan = scan_dataset(result.root)
    assert scan.layout == "petimages"
    assert scan.counts() == {"cat": N_GOOD + 1, "dog": N_GOOD}
    assert scan.skipped == {}

    # Already extracted: nothing is downloaded again, the counts come back from the marker.
    again = fetch_petimages(dest, url=f"{base}/missing.zip")
    assert (again.downloaded, again.images, again.removed_corrupt) == (False, 2 * N_GOOD + 1, 2)

    # Extracted folder gone, archive still there: it is reused (the URL would fail).
    shutil.rmtree(result.root)
    reused = fetch_petimages(dest, url=f"{base}/missing.zip")
    assert (reused.downloaded, reused.images, reused.removed_corrupt) == (False, 2 * N_GOOD + 1, 2)
    assert _leftovers(dest) == []


def test_fetch_file_url(tmp_path: Path) -> None:
    archive = make_petimages_zip(tmp_path / "src" / "pets.zip", N_GOOD)
    dest = tmp_path / "data"
    result = fetch_petimages(dest, url=archive.as_uri())
    assert (result.downloaded, result.images, result.removed_corrupt) == (True, 2 * N_GOOD + 1, 2)
    assert (dest / "PetImages" / "Dog" / "0.jpg").is_file()


def test_http_404(served: tuple[str, Path], tmp_path: Path) -> None:
    base, _ = served
    dest = tmp_path / "data"
    url = f"{base}/nothing-here.zip"
    with pytest.raises(UserError, match=r"^download of .*nothing-here\.zip failed: HTTP 404"):
        fetch_petimages(dest, url=url)
    assert sorted(p.name for p in dest.iterdir()) == []


def test_missing_file_url(tmp_path: Path) -> None:
    url = (tmp_path / "absent.zip").as_uri()
    with pytest.raises(UserError, match=r"^download of file://.*absent\.zip failed: "):
        fetch_petimages(tmp_path / "data", url=url)
    assert list((tmp_path / "data").iterdir()) == []


def test_not_a_zip(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    write(www / "page.html", b"<html>not a zip</html>")
    dest = tmp_path / "data"
    with pytest.raises(UserError, match="is not a valid zip archive"):
        fetch_petimages(dest, url=f"{base}/page.html")
    assert list(dest.iterdir()) == []


def test_foreign_petimages_folder_is_left_alone(tmp_path: Path) -> None:
    dest = tmp_path / "data"
    write(dest / "PetImages" / "Cat" / "x.jpg", b"mine")
    with pytest.raises(UserError, match="was not made by 'tlexplorer data fetch'"):
        fetch_petimages(dest, url=(tmp_path / "absent.zip").as_uri())
    assert (dest / "PetImages" / "Cat" / "x.jpg").read_bytes() == b"mine"
