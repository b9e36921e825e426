"""Deltas for downstream systems: what a child model added to its parent's tables.

A child that extends its parent keeps every parent row bit for bit, so a
nearest-neighbour index or an embedding cache built from the parent stays valid:
only the child's new rows need adding. `make.make_delta` computes a delta from two
models' `embeddings/` folders (refusing a child whose old rows moved),
`format` writes and reads it, and `faiss_index` applies it to a FAISS index
built from the parent's table, refusing a delta that does not fit the index.
"""
