"""Kubeflow Pipelines v2 / Vertex AI Pipelines: the compile step (and, beside it, the image)."""
