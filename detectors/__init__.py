"""Detection (issue 4): threat-feed matches and the policy rules of the ministry's orders, over the
sensor's records, with hospital segments, severity, noise control and the alert model in
``wardwatch.alerts``. Behavioural detectors and Sigma plug into the same ``Engine``.
"""

from .engine import Engine, build_detectors
from .settings import Settings, load_settings

__all__ = ["Engine", "Settings", "build_detectors", "load_settings"]
