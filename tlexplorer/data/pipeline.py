"""Input pipelines for a data source: tf.data for training, plain numpy batches for capture.

Images enter the models as float32 pixels in 0..255; each model rescales them itself, so the
same pipeline serves training, evaluation and capture. Real images are decoded by
:func:`tlexplorer.data.decode.decode_image` on every path (one decoder, one resize rule).
"""

from __future__ import annotations

import os

import numpy as np

from tlexplorer.data.sources import DataSource, FolderSource, SyntheticSource
from tlexplorer.quiet import import_tensorflow


def _decode_file(path, image_size: int):
    tf, _ = import_tensorflow()
    from tlexplorer.data.decode import decode_image

    def decode(raw_path) -> np.ndarray:
        return decode_image(os.fsdecode(raw_path), image_size)

    img = tf.numpy_function(decode, [path], tf.float32, stateful=False)
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
        # File names as the OS's bytes: a name that is not valid UTF-8 still round-trips.
        raw = np.array([os.fsencode(f) for f in files], dtype=object)
        ds = tf.data.Dataset.from_tensor_slices((raw, labels.astype(np.float32)))
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


def capture_batches(source: DataSource, batch_size: int, subset: str = "test",
                    on_skip=None, cancel=None):
    """Numpy batches ``(images float32 0..255, labels int64)`` of a subset, in order, for one
    capture pass (no TensorFlow): synthetic arrays as they are, real files decoded in threads;
    a file that cannot be decoded is left out and reported as ``on_skip(index, reason)``."""
    from tlexplorer.data.decode import decoded_batches

    if isinstance(source, SyntheticSource):
        images, labels = source.arrays(subset)
        labels = labels.astype(np.int64)
        return ((images[i : i + batch_size].astype(np.float32), labels[i : i + batch_size])
                for i in range(0, len(labels), batch_size))
    files, labels = source.files(subset)
    return decoded_batches(files, labels, source.image_size, batch_size, on_skip=on_skip,
                           cancel=cancel)


def n_images(source: DataSource, subset: str) -> int:
    if isinstance(source, SyntheticSource):
        return int(source.arrays(subset)[1].shape[0])
    return len(source.files(subset)[0])
