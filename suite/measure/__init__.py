"""The measurements claims compose, built on suite.interp: memorized items and controls,
counterfactual sources, decodability, bridge probes, erasure and patching outcomes, FDA
heuristics, and the k-hop sweeps."""
