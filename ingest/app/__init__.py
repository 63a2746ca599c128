"""Application metadata records: tls (ClientHello, also inside QUIC Initials), http and login."""

from .tracker import AppConfig, AppTracker

__all__ = ["AppConfig", "AppTracker"]
