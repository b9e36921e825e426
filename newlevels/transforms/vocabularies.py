"""What a Transform must output for the newlevels Trainer, and the helper that computes it.

The Trainer reads a Transform output (the `TransformGraph` and the transformed
examples) by these names, whoever wrote the `preprocessing_fn`:

- a vocabulary per categorical feature, named `CategoricalFeature.vocabulary_name`
  (the feature's name), in `VOCABULARY_FORMAT` (every token kept: the text format
  drops empty tokens and tokens holding a line break);
- the feature's tokens under the feature's name: strings, one per row, computed
  from the raw column of that name only (the serving signature parses those raw
  columns, nothing else);
- the label under `LABEL_KEY`: 0/1 as int64, one per row;
- optionally the row id under `ROW_ID_KEY`: one string per row; the incremental
  Trainer's `--replay-fraction` picks old-level rows by its hash and is refused
  without it.

Other outputs (a scaled numeric column another model reads, say) are ignored.
`categorical_vocabularies` does the first two; a user's `preprocessing_fn` adds
the label (and the row id) itself:

    def preprocessing_fn(inputs):
        outputs = newlevels.transforms.categorical_vocabularies(inputs, ["userId", "movieId"])
        outputs[LABEL_KEY] = tf.cast(inputs["rating"] >= 4.0, tf.int64)
        outputs["age_z"] = tft.scale_to_z_score(inputs["age"])
        return outputs
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import tensorflow as tf
import tensorflow_transform as tft

from newlevels.transforms.features import CategoricalFeature

LABEL_KEY = "label"
#: the row id, passed through so the Trainer can sample replay rows by its hash.
ROW_ID_KEY = "_row_id"
VOCABULARY_FORMAT = "tfrecord_gzip"
#: the suffix tf.Transform gives a vocabulary file written in `VOCABULARY_FORMAT`.
VOCABULARY_SUFFIX = ".tfrecord.gz"


class TransformOutputError(ValueError):
    """A Transform output lacks what the Trainer reads (the message names it and the fix)."""


def _tokens(name: str, values: tf.Tensor) -> tf.Tensor:
    """One string token per row, shape [batch]."""
    if not isinstance(values, tf.Tensor):
        raise TransformOutputError(
            f"categorical feature {name!r} is a {type(values).__name__}: give it one value per "
            "row (a fixed shape [1] in the schema, as SchemaGen infers by default) or fill "
            "missing values before calling categorical_vocabularies"
        )
    if values.shape.rank not in (None, 1) and values.shape[1:].num_elements() != 1:
        raise TransformOutputError(
            f"categorical feature {name!r} has shape {values.shape}: one token per row is needed"
        )
    if values.dtype.is_integer:
        values = tf.strings.as_string(values)
    elif values.dtype != tf.string:
        raise TransformOutputError(
            f"categorical feature {name!r} is {values.dtype.name}: give strings or integers"
        )
    return tf.reshape(values, [-1])


def categorical_vocabularies(
    inputs: Mapping[str, tf.Tensor], features: Iterable[CategoricalFeature | str]
) -> dict[str, tf.Tensor]:
    """Computes the vocabulary of each categorical feature under the name the Trainer reads.

    Call it in a `preprocessing_fn` and return its tokens among the outputs.

    Args:
        inputs: the raw features (the `preprocessing_fn`'s inputs, or a dict of
            tensors derived from them); each categorical feature is a dense
            string or integer tensor, one value per row ([batch] or [batch, 1]).
        features: the categorical features, or their names.

    Returns:
        Each feature's tokens as strings, shape [batch], under its name (integers
        become their decimal strings, as in the vocabulary).

    Raises:
        TransformOutputError: naming a feature that is sparse, ragged, not one
            value per row, or neither strings nor integers.
    """
    outputs = {}
    for feature in features:
        if isinstance(feature, str):
            feature = CategoricalFeature(feature)
        tokens = _tokens(feature.name, inputs[feature.name])
        # num_oov_buckets is the model's concern: its vocabulary keeps a dedicated
        # OOV row (see components/trainer/levels.py).
        tft.vocabulary(
            tokens, vocab_filename=feature.vocabulary_name, file_format=VOCABULARY_FORMAT
        )
        outputs[feature.name] = tokens
    return outputs


def check_transformed_features(
    feature_spec: Mapping[str, tf.io.FixedLenFeature | tf.io.VarLenFeature],
    feature_names: Iterable[str],
    row_id_for: Iterable[str] = (),
) -> None:
    """Refuses a transformed feature spec that lacks the tokens, the label or the row id.

    Args:
        feature_spec: the Transform output's transformed feature spec.
        feature_names: the categorical features the Trainer reads.
        row_id_for: the flags set that need the row id (e.g. `--replay-fraction`);
            empty when nothing reads it.

    Raises:
        TransformOutputError: naming the missing or misshapen key and the fix.
    """
    names = tuple(feature_names)
    needed = {name: "the feature's tokens" for name in names}
    needed[LABEL_KEY] = "the 0/1 label"
    flags = " and ".join(row_id_for)
    if flags:
        needed[ROW_ID_KEY] = f"the row id, which {flags} needs"
    for key, what in needed.items():
        spec = feature_spec.get(key)
        if spec is None:
            hint = f", or drop {flags}" if key == ROW_ID_KEY else ""
            raise TransformOutputError(
                f"the Transform output has no {key!r} ({what}): its preprocessing_fn must "
                f"return it (see newlevels.transforms.vocabularies){hint}"
            )
        if not isinstance(spec, tf.io.FixedLenFeature):
            raise TransformOutputError(
                f"the Transform output's {key!r} ({what}) is a {type(spec).__name__}: "
                "one value per row is needed"
            )
        if key in names and spec.dtype != tf.string:
            raise TransformOutputError(
                f"the Transform output's {key!r} ({what}) is {spec.dtype.name}: tokens are "
                "strings (categorical_vocabularies turns integers into strings)"
            )


def vocabulary_file(output: tft.TFTransformOutput, feature: CategoricalFeature) -> str:
    """The path of a feature's vocabulary in a Transform output.

    Raises:
        TransformOutputError: if there is none by the feature's name, or it is not
            in `VOCABULARY_FORMAT`.
    """
    path = output.vocabulary_file_by_name(feature.vocabulary_name)
    if path is None:
        raise TransformOutputError(
            f"the Transform output has no vocabulary named {feature.vocabulary_name!r}: compute "
            "it in the preprocessing_fn with newlevels.transforms.categorical_vocabularies"
        )
    if not path.endswith(VOCABULARY_SUFFIX):
        raise TransformOutputError(
            f"vocabulary {feature.vocabulary_name!r} ({path}) is not in {VOCABULARY_FORMAT} "
            "format (the text format drops empty tokens and tokens with a line break): compute "
            "it with newlevels.transforms.categorical_vocabularies"
        )
    return path
