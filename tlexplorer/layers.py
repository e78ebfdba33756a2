"""Custom Keras layers the suite's model files need (imported only where Keras is in use).

``keras.layers.RandomShear`` (Keras 3.15) saves its factors as ``[-f, f]`` but rejects negative
factors when loading, so a model holding it cannot be read back. :class:`Shear` saves the factor
the constructor accepts; model files name it ``tlexplorer>Shear``.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tlexplorer")
class Shear(keras.layers.RandomShear):
    """RandomShear whose config round-trips."""

    def __init__(self, x_factor=0.0, y_factor=0.0, **kwargs):
        super().__init__(x_factor=x_factor, y_factor=y_factor, **kwargs)
        self._x_arg = x_factor
        self._y_arg = y_factor

    def get_config(self):
        config = super().get_config()
        config.update(x_factor=self._x_arg, y_factor=self._y_arg)
        return config
