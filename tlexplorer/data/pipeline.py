"""Input pipelines for a data source: training batches on any Keras backend, and plain numpy
batches for capture.

Images enter the models as float32 pixels in 0..255; each model rescales them itself, so the
same pipeline serves training, evaluation and capture. Real images are decoded by
:func:`tlexplorer.data.decode.decode_image` on every path (one decoder, one resize rule).

Training reads a subset through :class:`SubsetImages` (decoded once, in threads, and kept in
memory when the subset fits in :data:`CACHE_BYTES`; decoded again each epoch when it does not)
and :func:`batches`, a ``keras.utils.PyDataset`` that every backend's ``fit`` takes and that
needs no TensorFlow. :func:`dataset` is the tf.data pipeline the TensorFlow backend trains on.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from tlexplorer.data.sources import DataSource, FolderSource, SyntheticSource
from tlexplorer.errors import UserError

CACHE_BYTES = 2 << 30
"""Decoded images (float32, as the models see them) kept in memory per training run: the
poster's 5000 images at 150 px take 1.35 GB. Subsets beyond it are decoded again every epoch."""


def _decode_file(path, image_size: int):
    from tlexplorer.quiet import import_tensorflow

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
    from tlexplorer.quiet import import_tensorflow

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


# -- training batches without TensorFlow -------------------------------------------------------


class SubsetImages:
    """The images of one subset by index, as the models take them (float32 RGB 0..255), and
    their labels.

    In-memory arrays (the synthetic demo) are cast per batch. Files are decoded in ``threads``
    threads (:meth:`prefetch` starts that ahead of :meth:`take`) and, with ``cache``, kept
    decoded, so each file is decoded once for every epoch and model of a run. Not for
    concurrent use: one training thread asks, the decoding threads only decode.
    """

    def __init__(self, labels: np.ndarray, *, arrays: np.ndarray | None = None,
                 files: Sequence[str] | None = None, image_size: int = 0, cache: bool = True,
                 threads: int | None = None) -> None:
        from tlexplorer.data.decode import DECODE_THREADS

        if (arrays is None) == (files is None):
            raise ValueError("give arrays or files")
        self.labels = np.asarray(labels)
        self._arrays = arrays
        self._files = list(files) if files is not None else None
        self._size = image_size
        self._threads = max(1, threads or DECODE_THREADS)
        n = len(self.labels)
        if (len(arrays) if arrays is not None else len(self._files)) != n:
            raise ValueError("images and labels differ in number")
        self._cached: np.ndarray | None = None
        self._have: np.ndarray | None = None
        if files is not None and cache:
            self._cached = np.empty((n, image_size, image_size, 3), dtype=np.float32)
            self._have = np.zeros(n, dtype=bool)
        self._pending: dict[int, Future] = {}
        self._pool: ThreadPoolExecutor | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def image_shape(self) -> tuple[int, ...]:
        if self._arrays is not None:
            return tuple(self._arrays.shape[1:])
        return (self._size, self._size, 3)

    @property
    def decodes(self) -> bool:
        """Whether images come from files (and may be worth reading ahead)."""
        return self._files is not None

    @property
    def cached(self) -> bool:
        return self._cached is not None

    def prefetch(self, indices) -> None:
        """Start decoding the files of ``indices`` that are neither kept nor on their way."""
        if self._files is None:
            return
        for i in np.asarray(indices, dtype=np.int64).tolist():
            if i in self._pending or (self._have is not None and self._have[i]):
                continue
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="decode")
            self._pending[i] = self._pool.submit(self._decode, i)

    def take(self, indices) -> np.ndarray:
        """float32 images ``(len(indices), H, W, 3)`` in ``indices`` order."""
        indices = np.asarray(indices, dtype=np.int64)
        if self._arrays is not None:
            return self._arrays[indices].astype(np.float32)
        if self._have is not None and self._have[indices].all():
            return self._cached[indices]
        self.prefetch(indices)
        out = np.empty((len(indices), *self.image_shape), dtype=np.float32)
        for k, i in enumerate(indices.tolist()):
            if self._have is not None and self._have[i]:
                out[k] = self._cached[i]
                continue
            future = self._pending.pop(i, None)  # None: ``i`` twice in ``indices``
            out[k] = future.result() if future is not None else self._decode(i)
            if self._cached is not None:
                self._cached[i] = out[k]
                self._have[i] = True
        if self._have is not None and self._have.all():
            self.close()  # all decoded: the threads are done for good
        return out

    def close(self) -> None:
        """Stop the decoding threads (kept images stay; a later read starts them again)."""
        pool, self._pool = self._pool, None
        self._pending.clear()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _decode(self, i: int) -> np.ndarray:
        from tlexplorer.data.decode import ImageDecodeError, decode_image

        try:
            return decode_image(self._files[i], self._size)
        except ImageDecodeError as exc:
            raise UserError(f"cannot decode {self._files[i]} ({exc.reason}): the folder changed "
                            "since it was split; train in another --workspace to split it "
                            "again") from exc


def subset_images(source: DataSource, subsets: Sequence[str] = ("train", "val", "test"),
                  budget: int | None = None) -> dict[str, SubsetImages]:
    """:class:`SubsetImages` of each of ``subsets`` of a source, labels float32 (the recipes'
    sigmoid output). Real images are kept decoded while the subsets, taken in order, fit in
    ``budget`` bytes (default :data:`CACHE_BYTES`); the others are decoded every epoch."""
    budget = CACHE_BYTES if budget is None else budget
    out: dict[str, SubsetImages] = {}
    for subset in subsets:
        if isinstance(source, SyntheticSource):
            images, labels = source.arrays(subset)
            out[subset] = SubsetImages(labels.astype(np.float32), arrays=images)
        elif isinstance(source, FolderSource):
            files, labels = source.files(subset)
            size = source.image_size
            need = len(files) * size * size * 3 * np.dtype(np.float32).itemsize
            cache = need <= budget
            if cache:
                budget -= need
            out[subset] = SubsetImages(labels.astype(np.float32), files=files, image_size=size,
                                       cache=cache)
        else:  # pragma: no cover
            raise TypeError(type(source))
    return out


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order of ``n`` images in epoch ``epoch`` (0-based) of a shuffled pipeline: a full
    permutation, new each epoch, the same for the same seed on every run and backend."""
    return np.random.default_rng([seed, epoch]).permutation(n)


READ_AHEAD = 2
"""Batches whose files are decoding while the model trains on the current one."""

_BATCHES_CLASS = None


def _batches_class():
    global _BATCHES_CLASS
    if _BATCHES_CLASS is not None:
        return _BATCHES_CLASS
    from tlexplorer.quiet import import_keras

    keras = import_keras()

    class Batches(keras.utils.PyDataset):
        """``(images float32, labels)`` batches of a :class:`SubsetImages` (see :func:`batches`).

        Read in the training thread (``workers=1``): Keras's worker threads would prefetch
        batches before ``fit`` looks at its first batch and hand them out again after, in
        an order that depends on timing. Files are read ahead here instead.
        """

        def __init__(self, images: SubsetImages, batch_size: int, shuffle: bool,
                     seed: int) -> None:
            super().__init__(workers=1, use_multiprocessing=False)
            self.images = images
            self.batch_size = int(batch_size)
            self.shuffle = shuffle
            self.seed = seed
            self.epoch = -1
            self.set_epoch(0)

        def set_epoch(self, epoch: int) -> None:
            """Read epoch ``epoch``'s order from now on (a no-op unshuffled)."""
            if epoch != self.epoch:
                self.epoch = epoch
                n = len(self.images)
                self._order = epoch_order(n, self.seed, epoch) if self.shuffle else np.arange(n)

        def epoch_callback(self):
            """A ``fit`` callback that sets each epoch's order as the epoch begins."""
            dataset = self

            class _SetEpoch(keras.callbacks.Callback):
                def on_epoch_begin(self, epoch, logs=None):
                    dataset.set_epoch(epoch)

            return _SetEpoch()

        def __len__(self) -> int:
            return -(-len(self.images) // self.batch_size)

        def _chosen(self, index: int) -> np.ndarray:
            return self._order[index * self.batch_size:(index + 1) * self.batch_size]

        def __getitem__(self, index: int):
            if not 0 <= index < len(self):
                raise IndexError(index)
            chosen = self._chosen(index)
            if self.images.decodes:
                self.images.prefetch(chosen)
                for ahead in range(index + 1, min(index + 1 + READ_AHEAD, len(self))):
                    self.images.prefetch(self._chosen(ahead))
            return self.images.take(chosen), self.images.labels[chosen]

    _BATCHES_CLASS = Batches
    return Batches


def batches(images: SubsetImages, batch_size: int, shuffle: bool = False, seed: int = 0):
    """A ``keras.utils.PyDataset`` of ``(images float32 0..255, labels)`` batches for ``fit``,
    ``evaluate`` and ``predict`` on any backend, without TensorFlow. The last batch may be
    smaller (as tf.data's ``batch``).

    Shuffled, epoch ``e`` reads the images in :func:`epoch_order` ``(n, seed, e)``; ``fit``
    must then get ``shuffle=False`` and the dataset's ``epoch_callback()`` (else every epoch
    keeps epoch 0's order).
    """
    return _batches_class()(images, batch_size, shuffle, seed)


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
