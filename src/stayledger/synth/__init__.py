"""Synthetic travellers with ground truth, for developing and measuring linkage and stay rules."""

from stayledger.synth.generator import SynthSummary, generate_population

__all__ = ["SynthSummary", "generate_population"]
