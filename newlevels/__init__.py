"""newlevels: add new levels of a categorical feature to an embedding model, old rows frozen.

One import name for the whole product: the TFX components and the Trainer module
(`newlevels.components`), the tf.Transform helpers (`newlevels.transforms`), our own
pipeline (`newlevels.pipeline`), the `newlevels` command (`newlevels.cli`), the
Kubeflow compile (`newlevels.kubeflow`) and the benchmarks (`newlevels.bench`).
Importing this package imports neither TensorFlow nor TFX.
"""

__version__ = "0.1.0"
