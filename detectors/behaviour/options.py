"""Settings of the behavioural detectors: one dataclass per detector holding its documented defaults,
filled from ``detectors.<name>`` of the config (unknown keys and bad values are errors naming the key
and its line). docs/DETECTION.md lists every key.

    detectors:
      behaviour: {state_dir: var/behaviour, save_every: 5m, max_hosts: 200000}
      dga: {enabled: true, min_names: 5, window: 10m, offset: 0.0, ...}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wardwatch.config import Config, ConfigError

from ..segments import ZONES

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZES = {"b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9}


@dataclass
class Common:
    state_dir: str | None = None  # relative to the config's data_dir; None: no state file
    save_every: float = 300.0  # seconds of wall time between state saves (and at flush)
    max_hosts: int = 200_000  # LRU bound of every per-host / per-pair table


@dataclass
class DgaOptions:
    enabled: bool = True
    window: float = 600.0
    min_names: int = 5  # distinct DGA-like NXDOMAIN registered domains from one host in the window
    offset: float = 0.0  # added to the length-dependent bar of dgamodel.threshold (bits per letter)
    single_offset: float = 0.75  # one name alone must clear the bar by this much to be reported
    min_letters: int = 7
    cooldown: float = 3600.0  # one host-level alert per host per cooldown


@dataclass
class TunnelOptions:
    enabled: bool = True
    window: float = 600.0
    min_names: int = 30  # distinct subdomains under one registered domain from one client
    min_suspect: int = 20  # of which carry data (per-name test below)
    min_suspect_ratio: float = 0.5
    min_bytes: int = 2000  # bytes carried in the subdomain part in the window
    sub_len: int = 40  # a subdomain part this long carries data …
    label_len: int = 30  # … or one label this long with high entropy …
    entropy: float = 3.5  # … (bits per character, on labels of 12+ characters)
    odd_types_ratio: float = 0.5  # TXT/NULL/CNAME/MX/ANY share that lowers min_suspect to a third
    cooldown: float = 3600.0


@dataclass
class BeaconOptions:
    enabled: bool = True
    min_conns: int = 20
    max_samples: int = 256  # connection times kept per (src, dst)
    threshold: float = 0.8  # RITA-style score in [0, 1]
    min_interval: float = 5.0  # median interval below this is a burst, not a beacon
    window: float = 86400.0
    outbound_only: bool = True  # inside host to the internet only
    cooldown: float = 86400.0  # one alert per pair per day


@dataclass
class ScanOptions:
    enabled: bool = True
    window: float = 300.0
    min_ports: int = 15  # distinct ports probed on one host
    min_hosts: int = 20  # distinct hosts probed on one port
    cooldown: float = 900.0


@dataclass
class ExfilOptions:
    enabled: bool = True
    window: float = 3600.0
    floor: int = 500_000_000  # bytes per window from one host, whatever its history
    zone_floors: dict[str, int] = field(
        default_factory=lambda: {
            "emr": 50_000_000,
            "his": 100_000_000,
            "server": 100_000_000,
            "lis": 100_000_000,
        }
    )
    segment_floor: int = 2_000_000_000
    sigmas: float = 4.0  # above mean + sigmas × std of the host's past windows …
    factor: float = 3.0  # … and above factor × its mean
    min_history: int = 6  # past windows needed before the baseline counts
    alpha: float = 0.1  # EWMA weight of a finished window


@dataclass
class NxOptions:
    enabled: bool = True
    window: float = 300.0
    min_count: int = 20
    min_names: int = 10
    factor: float = 5.0  # and above factor × the host's usual count per window, once it has history
    alpha: float = 0.1
    cooldown: float = 900.0


SECTIONS: dict[str, type] = {
    "behaviour": Common,
    "dga": DgaOptions,
    "dns_tunnel": TunnelOptions,
    "beacon": BeaconOptions,
    "port_scan": ScanOptions,
    "exfiltration": ExfilOptions,
    "nxdomain_burst": NxOptions,
}
_DURATIONS = {"window", "cooldown", "save_every"}
_SIZE_KEYS = {"floor", "segment_floor", "min_bytes"}


@dataclass
class BehaviourOptions:
    common: Common = field(default_factory=Common)
    dga: DgaOptions = field(default_factory=DgaOptions)
    dns_tunnel: TunnelOptions = field(default_factory=TunnelOptions)
    beacon: BeaconOptions = field(default_factory=BeaconOptions)
    port_scan: ScanOptions = field(default_factory=ScanOptions)
    exfiltration: ExfilOptions = field(default_factory=ExfilOptions)
    nxdomain_burst: NxOptions = field(default_factory=NxOptions)
    state_path: Path | None = None


def _duration(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v) if v >= 0 else None
    if isinstance(v, str) and v.strip():
        s = v.strip().lower()
        unit = _UNITS.get(s[-1])
        try:
            return float(s[:-1]) * unit if unit else float(s)
        except ValueError:
            return None
    return None


def _size(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return int(v) if v >= 0 else None
    if isinstance(v, str):
        s = v.strip().lower().replace(" ", "")
        for suf in sorted(_SIZES, key=len, reverse=True):
            if s.endswith(suf):
                try:
                    return int(float(s[: -len(suf)]) * _SIZES[suf])
                except ValueError:
                    return None
        try:
            return int(float(s))
        except ValueError:
            return None
    return None


def _value(config: Config, kp: tuple[str, ...], name: str, default: Any, v: Any) -> Any:
    def bad(expect: str) -> ConfigError:
        return config.error((*kp, name), f"expected {expect}, got {v!r}")

    if name in _DURATIONS:
        d = _duration(v)
        if d is None:
            raise bad("a duration such as 300, 5m or 1h")
        return d
    if name in _SIZE_KEYS:
        n = _size(v)
        if n is None:
            raise bad("a size such as 500000000 or 500MB")
        return n
    if name == "zone_floors":
        if not isinstance(v, dict):
            raise bad("a mapping of zone to size")
        out = {}
        for z, s in v.items():
            if z not in ZONES:
                raise config.error((*kp, name, z), f"unknown zone {z!r} (expected one of {', '.join(ZONES)})")
            n = _size(s)
            if n is None:
                raise config.error((*kp, name, z), f"expected a size, got {s!r}")
            out[z] = n
        return out
    if isinstance(default, bool):
        if not isinstance(v, bool):
            raise bad("true or false")
        return v
    if isinstance(default, int):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise bad("a positive whole number")
        return v
    if isinstance(default, float):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise bad("a number")
        if name in ("threshold", "min_suspect_ratio", "odd_types_ratio", "alpha") and not 0 <= v <= 1:
            raise bad("a number from 0 to 1")
        return float(v)
    if default is None or isinstance(default, str):
        if not isinstance(v, str) or not v.strip():
            raise bad("a path")
        return v.strip()
    raise bad("a value")  # pragma: no cover - every field type is handled above


def load_options(config: Config | None) -> BehaviourOptions:
    """The behavioural detectors' settings from ``config`` (all defaults when it is None)."""
    out = BehaviourOptions()
    if config is None:
        return out
    for section, cls in SECTIONS.items():
        raw = config.detectors.get(section)
        kp = ("detectors", section)
        if raw is None:
            continue
        if not isinstance(raw, dict):
            raise config.error(kp, f"expected a mapping, got {type(raw).__name__}")
        obj = cls()
        known = {f.name for f in dataclasses.fields(obj)}
        for k, v in raw.items():
            if k not in known:
                raise config.error((*kp, k), f"unknown key (expected one of {', '.join(sorted(known))})")
            setattr(obj, k, _value(config, kp, k, getattr(obj, k), v))
        setattr(out, "common" if section == "behaviour" else section, obj)
    if out.common.state_dir:
        p = Path(out.common.state_dir).expanduser()
        out.state_path = p if p.is_absolute() else Path(config.data_dir) / p
    return out
