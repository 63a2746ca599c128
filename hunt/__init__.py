"""Retro-hunting: find, in the stored records, what today's feeds and Sigma rules would have caught,
and store it as alerts marked ``retro``."""

from .feeds import hunt_feeds
from .sigma import SigmaHunt, hunt_sigma

__all__ = ["SigmaHunt", "hunt_feeds", "hunt_sigma"]
