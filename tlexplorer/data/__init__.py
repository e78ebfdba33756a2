"""Dataset sources: real image-folder layouts, the poster's split and the PetImages download.

Modules here that deal with files on disk (``layouts``, ``split``, ``fetch``) import no
TensorFlow, so scanning, splitting and downloading stay fast; only the modules that build
tf.data pipelines import it.
"""
