"""Model genealogy read back from ML Metadata alone (works on a Kubeflow-filled store too)."""
