"""The synthetic hospital traffic generator (deterministic from a seed): a pcap, the list of injected
attacks and the config that describes the network."""

from wardwatch.tools.synth.generate import SEGMENTS, Result, generate

__all__ = ["SEGMENTS", "Result", "generate"]
