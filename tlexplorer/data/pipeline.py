"""tf.data input pipelines for a data source: parallel decoding, caching and prefetch.

Images enter the models as float32 pixels in 0..255; each model rescales them itself, so the
same pipeline serves training, evaluation and capture.
"""

from __future__ import annotations

import numpy as np

from tlexplorer.data.sources import DataSource, FolderSource, SyntheticSource
from tlexplorer.quiet import import_tensorflow


def _decode_file(path, image_size: int):
    tf, _ = import_tensorflow()
    raw = tf.io.read_file(path)
    img = tf.io.decode_image(raw, channels=3, expand_animations=False)
    img = tf.image.resize(img, (image_size, image_size), method="bilinear")
    img.set_shape((image_size, image_size, 3))
    return img


def dataset(
    source: DataSource,
    subset: str,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    repeat: bool = False,
):
    """A batched ``tf.data.Dataset`` of ``(images float32 0..255, labels float32)``."""
    tf, _ = import_tensorflow()
    autotune = tf.data.AUTOTUNE
    if isinstance(source, SyntheticSource):
        images, labels = source.arrays(subset)
        ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.float32)))
        ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=autotune)
    elif isinstance(source, FolderSource):
        files, labels = source.files(subset)
        ds = tf.data.Dataset.from_tensor_slices((files, labels.astype(np.float32)))
        size = source.image_size
        ds = ds.map(
            lambda p, y: (_decode_file(p, size), y), num_parallel_calls=autotune, deterministic=True
        )
        ds = ds.cache()
    else:  # pragma: no cover
        raise TypeError(type(source))
    if shuffle:
        ds = ds.shuffle(4096, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    return ds.batch(batch_size).prefetch(autotune)


def n_images(source: DataSource, subset: str) -> int:
    if isinstance(source, SyntheticSource):
        return int(source.arrays(subset)[1].shape[0])
    return len(source.files(subset)[0])
