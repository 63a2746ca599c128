"""Retro-hunting: find, in the stored records, what today's feeds (and Sigma rules) would have caught,
and store it as alerts marked ``retro``."""

from .feeds import hunt_feeds

__all__ = ["hunt_feeds"]
