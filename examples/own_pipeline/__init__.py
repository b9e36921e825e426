"""A user's own TFX pipeline with the newlevels components (README: "Use it in your own pipeline").

- `data.py`: writes the example's clicks, one `span-N/` folder of CSV per span;
- `preprocessing.py`: the `preprocessing_fn`, written as a user writes one;
- `pipeline.py`: `create_pipeline` (stock CsvExampleGen, StatisticsGen, SchemaGen,
  Transform and Evaluator, with the newlevels components) and `run`;
- `__main__.py`: `python -m examples.own_pipeline --work DIR --span N`.
"""
