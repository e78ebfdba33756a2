"""Keep TensorFlow and Keras console noise out of the user's terminal, and import them lazily.

Keras runs on the backend it is configured for, as for any Keras program: ``KERAS_BACKEND``,
else the ``backend`` of ``~/.keras/keras.json`` (``$KERAS_HOME/keras.json``), else TensorFlow.
:func:`import_keras` is for backend-neutral code; :func:`import_tensorflow` only for the parts
that are TensorFlow's own (its compiled capture step, tf.data).

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


BACKENDS = ("tensorflow", "jax", "torch")


def backend_name() -> str:
    """The Keras backend in use, read as Keras reads it, without importing Keras."""
    name = os.environ.get("KERAS_BACKEND")
    if not name:
        home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
        try:
            import json

            name = json.loads((home / "keras.json").read_text(encoding="utf-8")).get("backend")
        except (OSError, ValueError, AttributeError):
            name = None
    return str(name) if name else "tensorflow"


def _configure_environment() -> None:
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
_keras: ModuleType | None = None


def import_keras() -> ModuleType:
    """Import Keras quietly on its configured backend; returns ``keras``. Thread-safe."""
    global _keras
    if _keras is not None:
        return _keras
    with _IMPORT_LOCK:
        if _keras is None:
            _configure_environment()
            with redirect_fd2():
                import keras
            if keras.backend.backend() == "tensorflow":
                _quiet_tensorflow()
            _keras = keras
    return _keras


def import_tensorflow() -> tuple[ModuleType, ModuleType]:
    """Import and quiet TensorFlow and Keras; returns ``(tf, keras)``.

    Thread-safe: the explorer's workers may ask at the same time, and a module that is in
    ``sys.modules`` may still be half-imported by another thread, so only a finished import
    takes the fast path.
    """
    global _imported
    if _imported is not None:
        return _imported
    keras = import_keras()
    with _IMPORT_LOCK:
        if _imported is None:
            with redirect_fd2():
                import tensorflow as tf
            _quiet_tensorflow()
            _imported = (tf, keras)
    return _imported


def _quiet_tensorflow() -> None:
    if _VERBOSE:
        return
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    tf.autograph.set_verbosity(0)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # pragma: no cover - absl ships with TensorFlow
        pass
