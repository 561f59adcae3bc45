"""Interpretability operations on real Hugging Face GPT-2 forwards, built on one hook layer.

hooks (capture / edit named sites) -> lens, probes, erasure, patching, directions, curvature,
attribution. Claims compose these; none of them re-implements a forward pass.
"""
