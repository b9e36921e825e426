"""Light contract modules: definitions many parts of newlevels share, free of TF and TFX."""
