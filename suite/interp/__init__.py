"""Interpretability operations on real Hugging Face forwards (GPT-2 and Llama families), built
on one hook layer.

hooks (capture / edit named sites) -> lens, probes, erasure, patching, directions, curvature,
attribution. Claims compose these; none of them re-implements a forward pass.
"""
