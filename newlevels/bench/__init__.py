"""`newlevels bench`: cost figures of the pipeline, measured side by side.

One entry point (`suite.run_suite`) writes `RESULTS.md` and `results.json`. Cases that need
their own peak RSS or a cold process run in a fresh subprocess (`cases.py`).
"""
