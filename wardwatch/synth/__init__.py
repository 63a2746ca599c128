"""The synthetic hospital traffic generator (deterministic from a seed): a pcap, the list of injected
attacks and the config that describes the network."""

from .generate import SEGMENTS, Result, generate

__all__ = ["SEGMENTS", "Result", "generate"]
