"""Examples of newlevels in a TFX pipeline of your own (not installed with the package)."""
