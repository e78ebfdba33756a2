"""Feature maps of one image at one probed layer: a single forward pass (no statistics)."""

from __future__ import annotations

import numpy as np

from tlexplorer.capture.probe import Probe, build_probe
from tlexplorer.quiet import import_keras


def feature_maps(model, image: np.ndarray, layer: str, probe: Probe | None = None,
                 preprocess: str = "none") -> np.ndarray:
    """The output of probed layer ``layer`` for one image, as (H, W, C) (or (1, 1, C) for Dense).

    ``image`` is uint8/float RGB pixels 0..255 (H, W, 3) at the model's input size, fed as
    capture feeds them (``preprocess``: :mod:`tlexplorer.inputs`).
    """
    from tlexplorer.inputs import apply_preprocess

    keras = import_keras()
    probe = probe or build_probe(model)
    names = [p.name for p in probe.layers]
    if layer not in names:
        raise KeyError(f"{layer} is not a probed layer of {model.name}")
    index = names.index(layer)
    inputs = probe.model.inputs
    single = keras.Model(inputs[0] if len(inputs) == 1 else inputs, probe.model.outputs[index])
    x = apply_preprocess(keras.ops.convert_to_tensor(np.asarray(image, np.float32)[None]),
                         preprocess)
    out = single(x, training=False)
    out = keras.ops.convert_to_numpy(out)[0]
    channel_axis = probe.layers[index].channel_axis - 1
    if out.ndim == 1:
        return out.reshape(1, 1, -1)
    out = np.moveaxis(out, channel_axis, -1)
    return out.reshape(-1, out.shape[-2], out.shape[-1]) if out.ndim > 3 else out
