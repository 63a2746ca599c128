"""Live capture: interfaces in (AF_PACKET, fanned out across workers), RawBatch columns out.

The sensor (``ingest.sensor.sense_live``) runs the same pipeline over these batches as over capture
files; only the source and the clock differ (wall time moves the clock when no packet arrives).
"""

from .capture import CaptureError, Handle, LiveSource, Options, close_handles, open_handles
from .privileges import drop_privileges

__all__ = [
    "CaptureError",
    "Handle",
    "LiveSource",
    "Options",
    "close_handles",
    "drop_privileges",
    "open_handles",
]
