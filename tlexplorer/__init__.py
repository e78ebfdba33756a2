"""tlexplorer: look inside transfer-learning image classifiers (NNU, activation spectrum, range)."""

__version__ = "0.1.0"
