"""wardwatch: network security monitoring for hospital networks."""

__version__ = "0.1.0"
