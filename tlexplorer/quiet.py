"""Keep TensorFlow and Keras console noise out of the user's terminal, and import them lazily.

TensorFlow prints CUDA, absl and oneDNN chatter to stderr at import time, even on CPU-only
machines. Environment variables must be set before the first import, and some messages bypass
them, so the import itself runs with file descriptor 2 pointed elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

_VERBOSE = False


def set_verbose(verbose: bool) -> None:
    """Let TensorFlow and Keras talk (``--verbose``); must be called before the first import."""
    global _VERBOSE
    _VERBOSE = verbose


def is_verbose() -> bool:
    return _VERBOSE


def _configure_environment() -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if not _VERBOSE:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


@contextlib.contextmanager
def redirect_fd2(target: Path | None = None) -> Iterator[None]:
    """Point file descriptor 2 (C++ stderr) at ``target`` (default: /dev/null) for a while."""
    if _VERBOSE:
        yield
        return
    try:
        sys.stderr.flush()
    except (AttributeError, ValueError):
        pass
    saved = os.dup(2)
    path = os.devnull if target is None else str(target)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(fd, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)


_IMPORT_LOCK = threading.Lock()
_imported: tuple[ModuleType, ModuleType] | None = None


def import_tensorflow() -> tuple[ModuleType, ModuleType]:
    """Import and quiet TensorFlow and Keras; returns ``(tf, keras)``.

    Thread-safe: the explorer's workers may ask at the same time, and a module that is in
    ``sys.modules`` may still be half-imported by another thread, so only a finished import
    takes the fast path.
    """
    global _imported
    if _imported is not None:
        return _imported
    with _IMPORT_LOCK:
        if _imported is None:
            _imported = _import_quietly()
    return _imported


def _import_quietly() -> tuple[ModuleType, ModuleType]:
    _configure_environment()
    with redirect_fd2():
        import keras
        import tensorflow as tf
    if not _VERBOSE:
        tf.get_logger().setLevel("ERROR")
        tf.autograph.set_verbosity(0)
        try:
            import absl.logging

            absl.logging.set_verbosity(absl.logging.ERROR)
        except ImportError:  # pragma: no cover - absl ships with TensorFlow
            pass
    return tf, keras
