"""Shared fixtures: a fabricated cached workspace (no TensorFlow needed)."""

from __future__ import annotations

import os

import pytest

# The in-process tests run on TensorFlow whatever ~/.keras/keras.json says; tests of other
# backends start their own processes (Keras picks its backend once, at import).
os.environ["KERAS_BACKEND"] = "tensorflow"
from fake_workspace import make_cached_workspace


@pytest.fixture
def cached_workspace(tmp_path):
    return make_cached_workspace(tmp_path)
