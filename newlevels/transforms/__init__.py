"""The tf.Transform side: the column spec, and what a `preprocessing_fn` gives the Trainer.

`newlevels.transforms.categorical_vocabularies` is the helper a user's
`preprocessing_fn` calls; `LABEL_KEY` and `ROW_ID_KEY` name the label and the row
id it returns beside the tokens (see `vocabularies` for the whole contract).
They load on first use, so importing the column spec (`features`) never
imports tf.Transform.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LABEL_KEY", "ROW_ID_KEY", "TransformOutputError", "categorical_vocabularies"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from newlevels.transforms import vocabularies

        return getattr(vocabularies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
