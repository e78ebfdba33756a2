"""Activation capture: probe building and streaming statistics.

This package's ``__init__`` and ``result`` module import no TensorFlow, so cached results can be
read by the UI without it; ``probe`` and ``engine`` import TensorFlow/Keras when used.
"""
