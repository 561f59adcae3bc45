"""Known answers: the instrument's own validation.

A claim's verdict on a trained model means something only if the claim's code would have seen
the effect had it been there, and could have failed had it been absent. This package builds
subjects whose answer is known by construction (planted.py: the mechanics, such as a memorized
lookup planted at a chosen depth, relabelled items, written curves; plants.py: each subject the
cases judge, one function each) and runs a claim's own test function on them (known.py), with
the claim's own gates, so the claim's measurement and decision, not a copy, classify them, and a
plant counts only if it is a model that learned and memorized.
A claim's record declares its planted-true and planted-false cases (Claim.known, naming the
plants of plants.py); claims/test_known_answers.py generates and runs them.
"""
