"""Shared fixtures: a fabricated cached workspace (no TensorFlow needed)."""

from __future__ import annotations

import pytest
from fake_workspace import make_cached_workspace


@pytest.fixture
def cached_workspace(tmp_path):
    return make_cached_workspace(tmp_path)
