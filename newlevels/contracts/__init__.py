"""Light contracts: names and rules many modules share, with no TensorFlow, TFX or TFMA import.

`signatures` (the serving signatures, the prediction key and the cohort slice
keys), `gate` (the gate, the policy and the decision at the gate), `decision`
(the pure decision), `blessing` (the properties the Decision writes) and `digest`
(the table digest of the freeze certificate, of deltas and of indexes). Anything
may import them.
"""
