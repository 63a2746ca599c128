"""Policy detectors: one module per rule family of the ministry's and health departments' orders."""

from .airgap import AirgapDetector
from .dns_bypass import DnsBypassDetector
from .ott import OttDetector
from .passwords import PlaintextDetector, WeakPasswordDetector
from .remote_access import RemoteAccessDetector
from .segmentation import SegmentationDetector

__all__ = [
    "AirgapDetector",
    "DnsBypassDetector",
    "OttDetector",
    "PlaintextDetector",
    "RemoteAccessDetector",
    "SegmentationDetector",
    "WeakPasswordDetector",
]
