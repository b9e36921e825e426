"""Light contracts: names and rules many modules share, with no TensorFlow, TFX or TFMA import.

`signatures` (the serving signatures, the prediction key and the cohort slice
keys), `gate` (the gate, the policy and the decision at the gate) and `digest`
(the freeze certificate's table digest). Anything may import them.
"""
