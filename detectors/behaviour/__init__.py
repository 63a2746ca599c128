"""Behavioural detectors (issue 5): DGA names, DNS tunnels, beacons, port scans, exfiltration and
NXDOMAIN bursts. Each keeps bounded per-host state (``state.Table``, evictions counted) and may save
its baselines to a state file (``detectors.behaviour.state_dir``). docs/DETECTION.md documents them.

Wiring into the engine::

    for d in build_behaviour(config):
        engine.add(d)
"""

from __future__ import annotations

from typing import Any

from wardwatch.config import Config

from .beacon import BeaconDetector
from .dga import DgaDetector
from .exfil import ExfilDetector
from .nxdomain import NxdomainDetector
from .options import BehaviourOptions, load_options
from .scan import ScanDetector
from .tunnel import TunnelDetector

__all__ = [
    "BeaconDetector",
    "BehaviourOptions",
    "DgaDetector",
    "ExfilDetector",
    "NxdomainDetector",
    "ScanDetector",
    "TunnelDetector",
    "build_behaviour",
    "load_options",
]


def build_behaviour(config: Config | None = None, opts: BehaviourOptions | None = None) -> list[Any]:
    """Every enabled behavioural detector, configured from ``config`` (or ``opts``), state restored."""
    o = opts if opts is not None else load_options(config)
    m = o.common.max_hosts
    out: list[Any] = []
    for on, d in (
        (o.dga.enabled, lambda: DgaDetector(o.dga, m)),
        (o.dns_tunnel.enabled, lambda: TunnelDetector(o.dns_tunnel, m)),
        (o.beacon.enabled, lambda: BeaconDetector(o.beacon, m)),
        (o.port_scan.enabled, lambda: ScanDetector(o.port_scan, m)),
        (o.exfiltration.enabled, lambda: ExfilDetector(o.exfiltration, m)),
        (o.nxdomain_burst.enabled, lambda: NxdomainDetector(o.nxdomain_burst, m)),
    ):
        if on:
            det = d()
            det.attach(o.state_path, o.common.save_every)
            out.append(det)
    return out
