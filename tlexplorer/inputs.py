"""How pixels enter a model: the input modes of ``--preprocess``, in plain arithmetic.

Images leave the data pipeline as float32 RGB in 0..255. A model built with its own
``Rescaling``/``Normalization`` layer takes them as they are (``none``); a model that expects
another range gets one of the modes of ``keras.applications.imagenet_utils.preprocess_input``:

| mode    | what the model receives |
|---------|-------------------------|
| none    | RGB, 0..255 (the default) |
| unit    | RGB, 0..1 (÷ 255) |
| tf      | RGB, -1..1 (÷ 127.5 − 1) |
| caffe   | BGR, ImageNet channel means subtracted (VGG16, ResNet50 of ``keras.applications``) |
| torch   | RGB, ÷ 255, ImageNet mean subtracted and divided by the std |

:func:`apply_preprocess` uses only slicing and arithmetic, so it runs on numpy arrays and on any
backend's tensors alike (TensorFlow, JAX), inside a compiled step or outside.
"""

from __future__ import annotations

from typing import Any

PREPROCESS_MODES = ("none", "unit", "tf", "caffe", "torch")
DEFAULT_PREPROCESS = "none"

PREPROCESS_HELP = {
    "none": "RGB pixels 0..255 (models with their own Rescaling layer)",
    "unit": "RGB 0..1 (pixels ÷ 255)",
    "tf": "RGB -1..1 (keras.applications mode 'tf')",
    "caffe": "BGR minus the ImageNet means (keras.applications mode 'caffe': VGG16, ResNet50)",
    "torch": "RGB 0..1 normalised by the ImageNet mean and std (mode 'torch')",
}

_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


def check_preprocess(mode: str) -> str:
    """``mode`` if it is one of :data:`PREPROCESS_MODES`, else ValueError naming the choices."""
    if mode not in PREPROCESS_MODES:
        raise ValueError(f"unknown input mode {mode!r}; one of {', '.join(PREPROCESS_MODES)}")
    return mode


def apply_preprocess(x: Any, mode: str) -> Any:
    """``x`` (…, H, W, 3) float RGB 0..255 as the model expects it under ``mode``."""
    check_preprocess(mode)
    if mode == "none":
        return x
    if mode == "unit":
        return x / 255.0
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "caffe":
        bgr = x[..., ::-1]
        return bgr - _constant(bgr, _CAFFE_MEAN_BGR)
    # torch
    unit = x / 255.0
    return (unit - _constant(unit, _TORCH_MEAN)) / _constant(unit, _TORCH_STD)


def _constant(like: Any, values: tuple[float, float, float]) -> Any:
    """A per-channel constant in ``like``'s dtype (numpy, or the backend's tensor type)."""
    import numpy as np

    dtype = getattr(like, "dtype", None)
    try:
        return np.asarray(values, dtype=np.dtype(dtype.name if hasattr(dtype, "name") else dtype))
    except TypeError:  # a backend dtype numpy does not know: let the framework broadcast floats
        return np.asarray(values, dtype=np.float32)
