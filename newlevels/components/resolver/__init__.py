"""The parent resolver: the last model pushed by *this* pipeline, in a store shared by many.

`scope` holds the rule (light: no TFX import); `strategy` applies it inside a
local TFX run and builds the resolver node; `kubeflow/compile.py` writes the same
rule into the compiled resolver query.
"""
