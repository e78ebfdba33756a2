"""Training on every Keras backend: the numpy input pipeline (no TensorFlow), JAX training that
never imports TensorFlow, and ``.keras`` files that load and predict the same on either backend.

This process runs Keras on TensorFlow (Keras picks its backend once, at import); whatever runs
under JAX runs in a subprocess with ``KERAS_BACKEND=jax``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import write, write_jpeg

from tlexplorer import presets, training, zoo
from tlexplorer.data import pipeline
from tlexplorer.data.decode import decode_image
from tlexplorer.data.sources import SyntheticSource, open_folder
from tlexplorer.errors import UserError
from tlexplorer.quiet import import_tensorflow

_, keras = import_tensorflow()
ROOT = Path(__file__).resolve().parents[1]
SMOKE_SUITE = "synthetic-smoke"

# -- the numpy pipeline ---------------------------------------------------------------------


def test_epoch_order_is_a_seeded_permutation_new_each_epoch():
    a = pipeline.epoch_order(50, seed=3, epoch=0)
    assert sorted(a.tolist()) == list(range(50))
    np.testing.assert_array_equal(a, pipeline.epoch_order(50, seed=3, epoch=0))
    assert not np.array_equal(a, pipeline.epoch_order(50, seed=3, epoch=1))
    assert not np.array_equal(a, pipeline.epoch_order(50, seed=4, epoch=0))


def _folder(tmp_path: Path, n_per_class: int = 9, size: int = 24) -> Path:
    root = tmp_path / "data"
    for k, name in enumerate(("cat", "dog")):
        for i in range(n_per_class):
            write_jpeg(root / "train" / f"{name}.{i}.jpg", seed=1000 * k + i, size=size + 7 * i)
    return root


def _epoch(ds) -> tuple[np.ndarray, np.ndarray]:
    parts = [ds[i] for i in range(len(ds))]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def test_file_batches_are_the_decoders_pixels_cached_or_streamed(tmp_path):
    source = open_folder(_folder(tmp_path), image_size=20, sizes=(10, 4, 4))
    files, labels = source.files("train")
    expected = np.stack([decode_image(f, 20) for f in files])
    cached = pipeline.SubsetImages(labels.astype(np.float32), files=files, image_size=20)
    streamed = pipeline.SubsetImages(labels.astype(np.float32), files=files, image_size=20,
                                     cache=False, threads=2)
    assert cached.cached and not streamed.cached
    for images in (cached, streamed):
        ds = pipeline.batches(images, 4, shuffle=True, seed=5)
        assert len(ds) == 3 and ds[2][0].shape == (2, 20, 20, 3)  # the last batch is smaller
        for epoch in range(2):
            ds.set_epoch(epoch)
            order = pipeline.epoch_order(10, 5, epoch)
            x, y = _epoch(ds)
            assert x.dtype == np.float32 and y.dtype == np.float32
            np.testing.assert_array_equal(x, expected[order])  # bit for bit, every epoch
            np.testing.assert_array_equal(y, labels[order])
    # unshuffled: the tf.data pipeline's numbers, batch for batch
    tf_batches = list(pipeline.dataset(source, "val", 3).as_numpy_iterator())
    images = pipeline.subset_images(source, ("val",))["val"]
    for (tx, ty), (nx, ny) in zip(tf_batches, pipeline.batches(images, 3), strict=True):
        np.testing.assert_array_equal(nx, tx)
        np.testing.assert_array_equal(ny, ty)


def test_subsets_are_kept_decoded_only_within_the_budget(tmp_path):
    source = open_folder(_folder(tmp_path), image_size=20, sizes=(10, 4, 4))
    one = 20 * 20 * 3 * 4
    images = pipeline.subset_images(source, budget=14 * one)
    assert [images[s].cached for s in ("train", "val", "test")] == [True, True, False]
    synthetic = pipeline.subset_images(SyntheticSource(16, (4, 2, 2)))
    x = synthetic["train"].take([3, 0])
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, SyntheticSource(16, (4, 2, 2)).arrays("train")[0][[3, 0]])


def test_a_file_changed_since_the_split_is_a_user_error(tmp_path):
    source = open_folder(_folder(tmp_path), image_size=20, sizes=(10, 4, 4))
    files, labels = source.files("train")
    write(Path(files[1]), b"no longer an image")
    images = pipeline.SubsetImages(labels, files=files, image_size=20)
    with pytest.raises(UserError, match="changed since it was split"):
        images.take([0, 1])


def test_tensorflow_backend_keeps_tf_data():
    # Measured: tf.data is faster than the numpy pipeline under TensorFlow (see the report).
    assert training.uses_tf_data()


def test_a_resumed_run_loads_the_base_and_gives_the_same_transfer_model(tmp_path):
    """Model 3 retrained in a workspace whose base exists equals model 3 of a fresh run: the
    base is loaded, not pretrained again, and loading it does not move model 3's seed."""
    smoke = presets.SMOKE
    source = SyntheticSource(smoke.image_size, smoke.split)
    fresh, resumed = tmp_path / "fresh", tmp_path / "resumed"
    training.train_suite(fresh, source, smoke, model_ids=[3])
    shutil.copytree(fresh, resumed)
    suite = resumed / "models" / SMOKE_SUITE
    stem = zoo.RECIPES[3].stem
    base_bytes = (suite / "0-base.keras").read_bytes()
    for suffix in (".keras", ".json"):
        (suite / f"{stem}{suffix}").unlink()
    events = []
    training.train_suite(resumed, source, smoke, model_ids=[3], progress=events.append)
    assert [(e.kind, e.model) for e in events if e.model == "base"] == [("skipped", "base")]
    assert (suite / "0-base.keras").read_bytes() == base_bytes
    a = zoo.load_model(fresh / "models" / SMOKE_SUITE / f"{stem}.keras").get_weights()
    b = zoo.load_model(suite / f"{stem}.keras").get_weights()
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))


# -- JAX, in a subprocess -------------------------------------------------------------------

# Fails the run if anything imports TensorFlow, even an import whose failure is caught (Keras
# probes "is TensorFlow available?" that way).
NO_TENSORFLOW = textwrap.dedent('''
    import sys, traceback
    ATTEMPTS = []

    class NoTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name == "tensorflow" or name.startswith("tensorflow."):
                ATTEMPTS.append("".join(traceback.format_stack(limit=12)))
                raise ImportError("tensorflow is not to be imported under JAX")
            return None

    sys.meta_path.insert(0, NoTensorFlow())

    def check_no_tensorflow():
        assert not ATTEMPTS, "TensorFlow was imported:\\n" + ATTEMPTS[0]
        assert not [m for m in sys.modules if m.split(".")[0] == "tensorflow"]
''')


def _run_jax(script: str, timeout: int = 600) -> dict:
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", NO_TENSORFLOW + textwrap.dedent(script)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _inputs(n: int = 8, size: int = 48) -> np.ndarray:
    rng = np.random.default_rng(11)
    return rng.integers(0, 256, (n, size, size, 3)).astype(np.float32)


def test_jax_trains_without_tensorflow_and_model_files_cross_backends(tmp_path):
    """Model 2 (augmentation, the custom Shear layer) trained here under TensorFlow predicts
    the same under JAX; model 1 trained under JAX, with TensorFlow never imported there,
    predicts the same here."""
    ws_tf, ws_jax = tmp_path / "tf", tmp_path / "jax"
    smoke = presets.SMOKE
    source = SyntheticSource(smoke.image_size, smoke.split)
    training.train_suite(ws_tf, source, smoke, model_ids=[2])
    tf_model = ws_tf / "models" / SMOKE_SUITE / f"{zoo.RECIPES[2].stem}.keras"
    x = _inputs()
    np.save(tmp_path / "x.npy", x)
    out = _run_jax(f'''
        import json, numpy as np
        from pathlib import Path
        from tlexplorer import workbench, zoo
        from tlexplorer.quiet import import_keras
        assert import_keras().backend.backend() == "jax"
        ws = Path({str(ws_jax)!r})
        outcome = workbench.run(workbench.Request(ws, demo=True, preset="smoke", models=(1,),
                                                  capture=False, weight_shift=False))
        x = np.load({str(tmp_path / "x.npy")!r})
        own = zoo.load_model(ws / "models" / "{SMOKE_SUITE}" / "{zoo.RECIPES[1].stem}.keras")
        np.save({str(tmp_path / "jax_own.npy")!r}, np.asarray(own.predict(x, verbose=0)))
        other = zoo.load_model(Path({str(tf_model)!r}))
        np.save({str(tmp_path / "jax_tf.npy")!r}, np.asarray(other.predict(x, verbose=0)))
        check_no_tensorflow()
        print(json.dumps({{"trained": sorted(outcome.trained)}}))
    ''')
    assert out["trained"] == [1]
    jax_model = ws_jax / "models" / SMOKE_SUITE / f"{zoo.RECIPES[1].stem}.keras"
    assert jax_model.is_file()
    here = zoo.load_model(jax_model).predict(x, verbose=0)
    np.testing.assert_allclose(here, np.load(tmp_path / "jax_own.npy"), rtol=0, atol=1e-5)
    here = zoo.load_model(tf_model).predict(x, verbose=0)
    np.testing.assert_allclose(np.load(tmp_path / "jax_tf.npy"), here, rtol=0, atol=1e-5)
    assert np.ptp(here) > 0  # not a constant output that would match anything


@pytest.mark.slow
def test_jax_trains_the_whole_smoke_suite_without_tensorflow_repeatably(tmp_path):
    """All five recipes and the demo base under JAX (augmentation layers included), TensorFlow
    never imported; the same seed gives the same model again."""
    out = _run_jax(f'''
        import json, numpy as np
        from pathlib import Path
        from tlexplorer import workbench, zoo

        def train(ws, models=None):
            return workbench.run(workbench.Request(Path(ws), demo=True, preset="smoke",
                                 models=models, capture=False, weight_shift=False))

        first = train({str(tmp_path / "a")!r})
        again = train({str(tmp_path / "b")!r}, models=(1, 2))
        same = []
        for rid in (1, 2):
            a, b = (zoo.load_model(Path(ws) / "models" / "{SMOKE_SUITE}"
                                   / f"{{zoo.RECIPES[rid].stem}}.keras").get_weights()
                    for ws in ({str(tmp_path / "a")!r}, {str(tmp_path / "b")!r}))
            same.append(all(np.array_equal(u, v) for u, v in zip(a, b, strict=True)))
        check_no_tensorflow()
        print(json.dumps({{"trained": sorted(first.trained), "again": sorted(again.trained),
                          "same": same}}))
    ''')
    assert out == {"trained": [1, 2, 3, 4, 5], "again": [1, 2], "same": [True, True]}
    suite = tmp_path / "a" / "models" / SMOKE_SUITE
    assert (suite / "0-base.keras").is_file()
    for recipe in zoo.RECIPES.values():
        assert (suite / f"{recipe.stem}.keras").is_file()
    # and TensorFlow reads every one of them
    for path in suite.glob("*.keras"):
        zoo.load_model(path).predict(_inputs(2), verbose=0)
