"""On a GPU (JAX backend), capture gives the CPU's numbers. Marked ``gpu``: the default run
skips it; ``pytest -m gpu tests/test_gpu.py`` on a machine with JAX's CUDA build runs it.

The same model and images are analysed by JAX on the GPU and by JAX on the CPU
(``JAX_PLATFORMS=cpu``), and every CSV column compared as in ``test_backends``, except one
thing: a GPU sums a convolution's or a Dense layer's products in another order than a CPU, so
each activation differs by float32 rounding, about 2^-24 of its size. Skewness amplifies that
where a layer's mean is far from zero against its spread (the ReLU layer with bias 50: its
skewness differed by 2e-4 relative on an H200). Its tolerance is therefore 1e-5 plus
100 · 2^-24 · |mean| / std of that layer; every other column keeps 1e-5.

The model here has that ReLU layer's bias at 0, not 50: with 50 the softmax head saturates,
many scores are 0 or 1 to the last bit, and ROC AUC hangs on how each device rounds them (on an
H100, 2026-11-27: 0.5 on the CPU, 0.4345 on the GPU). With bias 0 the closest two scores of a
class are about 50 float32 steps apart. Skewness far from zero is checked exactly on the CPU
(``test_bruteforce``, ``test_backends.test_skewness_is_exact_under_jax_too``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from test_backends import compare_reports, three_class_folder

pytestmark = pytest.mark.gpu


def _jax_gpu() -> bool:
    code = "import jax; print(jax.devices()[0].platform)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return proc.returncode == 0 and proc.stdout.strip() == "gpu"


def _small_model(path):
    code = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "from test_backends import _small_model\n"
        f"_small_model(__import__('pathlib').Path({str(path)!r}), relu_bias=0.0)\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return path


def _skew_tolerance(workspace) -> dict[str, float]:
    """Per layer: 1e-5 + 100 · 2^-24 · |mean| / std, from the CPU run's cached moments."""
    import math

    from tlexplorer.cache import load_result

    (entry,) = list((workspace / "cache").glob("*.npz"))
    result, _ = load_result(entry)
    tolerance = {}
    for layer in result.layers:
        n, mean, m2, _ = (float(v) for v in layer.moments)
        std = math.sqrt(m2 / n) if n > 0 and m2 > 0 else 0.0
        tolerance[layer.name] = 1e-5 + (100 * 2.0**-24 * abs(mean) / std if std else 0.0)
    return tolerance


def test_capture_on_the_gpu_gives_the_cpus_numbers(tmp_path):
    if not _jax_gpu():
        pytest.skip("JAX sees no GPU here")
    model = _small_model(tmp_path / "small.keras")
    data = three_class_folder(tmp_path / "data")
    outs = {}
    for where, extra in (("gpu", {}), ("cpu", {"JAX_PLATFORMS": "cpu"})):
        outs[where] = tmp_path / f"out-{where}"
        env = {**os.environ, "KERAS_BACKEND": "jax", **extra}
        proc = subprocess.run([sys.executable, "-m", "tlexplorer", "analyze", "--no-figures",
                               str(model),
                               "--data", str(data), "--batch", "7", "--workspace",
                               str(tmp_path / f"ws-{where}"), "--out", str(outs[where])],
                              capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
    moved, total = compare_reports(outs["cpu"], outs["gpu"],
                                   skew_tol=_skew_tolerance(tmp_path / "ws-cpu"))
    print(json.dumps({"histogram_counts_moved": moved, "of": total}))
