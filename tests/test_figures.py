"""The figures a researcher keeps (reports/figures/*.png|svg) and the one-page index.html.

Drawn from fabricated capture results (tests/fake_workspace.py) with the real synthetic test
images, so no TensorFlow is needed: every figure exists, is a real PNG/SVG, the HTML references
only files that exist (or embeds them), names from data are escaped, and old figures go.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from fake_workspace import LAYERS, SOURCE, WEIGHT_SHIFT, make_result

from tlexplorer import figures
from tlexplorer.report import describe_written, write_reports
from tlexplorer.weightshift import LayerShift

pytest.importorskip("matplotlib")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _results(ids=None):
    return [make_result(rid) for rid in (ids or sorted(LAYERS))]


def _write(out: Path, results=None, **kwargs) -> list[Path]:
    shift = [LayerShift(*row) for row in WEIGHT_SHIFT]
    return write_reports(results or _results(), out, weight_shift=shift, **kwargs)


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    """The five models' report with every figure (drawn once: drawing takes seconds)."""
    out = tmp_path_factory.mktemp("figures") / "reports"
    return out, _write(out, read_images=SOURCE.test_images)


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.refs += [v for k, v in attrs if k in ("src", "href") and v is not None]

    def handle_data(self, data):
        self.text.append(data)


def _parse(path: Path) -> _Refs:
    parser = _Refs()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_every_figure_is_written_as_png_and_svg(full_report):
    out, written = full_report
    folder = out / "figures"
    stems = {p.stem for p in folder.iterdir()}
    expected = {"fig5_nnu", "fig6_spectra", "fig7_max_activation", "weight_shift"}
    for i, rid in enumerate(sorted(LAYERS), start=1):
        expected |= {f"model{i}_units", f"model{i}_spectra"}
        # one montage per hidden layer in which some unit fired (here: every one)
        expected |= {f"model{i}_top_{k:02d}-{name}" for k, (name, _, _) in
                     enumerate(LAYERS[rid])}
    assert stems == expected
    for stem in expected:
        png = (folder / f"{stem}.png").read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 2000, stem
        root = ET.fromstring((folder / f"{stem}.svg").read_bytes())
        assert root.tag.endswith("svg"), stem
    assert set(written) >= {folder / f"{s}.{ext}" for s in expected for ext in ("png", "svg")}
    assert (out / "index.html") in written
    assert "and 29 figures as PNG and SVG (figures/)" in describe_written(written)


def test_figure_7_names_every_layer_of_every_model(full_report):
    """Layers and models are named on Figure 7 (SVG text elements: searchable, selectable)."""
    out, _ = full_report
    svg = (out / "figures" / "fig7_max_activation.svg").read_text(encoding="utf-8")
    for rid, layers in LAYERS.items():
        assert f">{make_result(rid).model_label} {make_result(rid).model_name}</text>" in svg
        for name, _, _ in layers:
            assert f">{name}</text>" in svg


def test_index_html_is_self_contained(full_report):
    out, _ = full_report
    page = _parse(out / "index.html")
    assert page.refs, "the page shows nothing"
    pngs = sorted((out / "figures").glob("*.png"))
    charts = [r for r in page.refs if r.startswith("data:image/png;base64,")]
    montages = [r for r in page.refs if r.startswith("data:image/jpeg;base64,")]
    assert len(charts) + len(montages) == len(pngs)  # every figure, embedded
    assert len(montages) == sum("_top_" in p.name for p in pngs)  # photos as JPEG
    for ref in page.refs:
        if ref.startswith("data:"):
            continue
        assert "://" not in ref and not ref.startswith("/"), ref
        assert (out / ref).is_file(), ref
    text = " ".join(page.text)
    for rid in LAYERS:
        assert make_result(rid).model_name in text  # the summary table
    assert "NNU ∝ 1/accuracy" in text  # the claims check
    assert "table" in page.tags


def test_names_from_data_are_escaped_and_never_reach_a_path(tmp_path):
    hostile = dataclasses.replace(make_result(1), model_label="<script>alert(1)</script>",
                                  model_name="../../evil name")
    hostile.layers[0].name = "<b>conv/../x</b>"
    out = tmp_path / "reports"
    _write(out, results=[hostile, make_result(2)], read_images=SOURCE.test_images)
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "<b>conv" not in html
    assert "&lt;script&gt;" in html
    for path in (out / "figures").iterdir():
        assert path.parent == out / "figures"
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", path.name), path.name
    assert not (tmp_path / "evil name").exists()


def test_without_images_the_page_says_why_and_old_figures_go(tmp_path):
    out = tmp_path / "reports"
    _write(out, _results([2]), read_images=SOURCE.test_images)
    (out / "figures" / "from-an-older-run.png").write_bytes(PNG_MAGIC)
    _write(out, _results([2]),
           images_note="no top-image montages: the test set changed since the capture")
    names = {p.name for p in (out / "figures").iterdir()}
    assert "from-an-older-run.png" not in names
    assert not any("_top_" in n for n in names)  # the older montages went too
    assert "the test set changed since the capture" in (out / "index.html").read_text()


def test_figures_are_the_same_bytes_on_every_run(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _write(a, _results([5]), read_images=SOURCE.test_images)
    _write(b, _results([5]), read_images=SOURCE.test_images)
    for path in sorted((a / "figures").iterdir()):
        assert path.read_bytes() == (b / "figures" / path.name).read_bytes(), path.name
    assert (a / "index.html").read_bytes() == (b / "index.html").read_bytes()


def test_spectrum_points_are_shares_of_all_values():
    result = make_result(3)
    layer = result.hidden_layers[1]
    px, py, nx, ny, zero, total = figures._spectrum_points(layer.hist)
    assert total == int(layer.hist.sum())
    assert py.sum() + ny.sum() + zero == pytest.approx(100.0)
    assert np.all(np.diff(px) > 0) and np.all(px > 0)


def test_the_worker_gets_about_half_of_the_drawing():
    from tlexplorer.figures import CHARTS_PER_MODEL, _worker_share

    counts = [5, 5, 13, 13, 13]  # the demo: two CNNs, three VGG-shaped models
    theirs = _worker_share(counts)
    worker = sum(counts[i] for i in theirs)
    here = CHARTS_PER_MODEL * len(counts) + sum(counts) - worker
    assert abs(worker - here) <= max(counts) and 0 < len(theirs) < len(counts)
    assert _worker_share([7]) == set()  # one model: nothing to share


def test_model_stems_are_unique_and_safe():
    a, b = make_result(1), make_result(2)
    a.model_label = b.model_label = "same name.keras"
    stems = figures.model_stems([a, b, make_result(3)])
    assert stems == ["model1-same_name.keras", "model2-same_name.keras", "model3"]


def test_montages_drawn_in_a_worker_process_are_the_same_bytes(tmp_path, monkeypatch):
    """processes=2 (the CLI's and the app's) splits the models' montages with a spawned
    worker: the same files, bytes and page order as drawing them all here; names from data
    with '$' stay text (no mathtext), in the worker too."""
    dollars = dataclasses.replace(make_result(3), model_label="$x", model_name="a $b")
    results = [make_result(1), make_result(2), dollars]
    import concurrent.futures

    futures = []

    class Spy(concurrent.futures.ProcessPoolExecutor):
        def submit(self, *args, **kwargs):
            futures.append(super().submit(*args, **kwargs))
            return futures[-1]

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Spy)
    a, b = tmp_path / "a", tmp_path / "b"
    _write(a, results, read_images=SOURCE.test_images)
    _write(b, results, read_images=SOURCE.test_images, processes=2)
    # the worker drew its share (no silent fallback to drawing everything here)
    assert len(futures) == 1 and futures[0].exception() is None
    assert 0 < len(futures[0].result()) < len(results)  # a share: not none, not all
    names = sorted(p.name for p in (a / "figures").iterdir())
    assert names == sorted(p.name for p in (b / "figures").iterdir())
    assert sum("_top_" in n for n in names) >= 6
    for name in names:
        assert (a / "figures" / name).read_bytes() == (b / "figures" / name).read_bytes(), name
    assert (a / "index.html").read_bytes() == (b / "index.html").read_bytes()
