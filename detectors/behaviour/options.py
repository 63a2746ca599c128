"""Settings of the behavioural detectors: one dataclass per detector holding its documented defaults,
filled from ``detectors.<name>`` of the config (unknown keys and bad values are errors naming the key
and its line). docs/DETECTION.md lists every key.

    detectors:
      behaviour: {state_dir: var/behaviour, save_every: 5m, max_hosts: 200000}
      dga: {enabled: true, min_names: 5, window: 10m, offset: 0.0, ...}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wardwatch.config import Config, declare_section, setting
from wardwatch.segments import ZONES


def _n(default: int) -> Any:
    return setting(default, lo=1)  # counts and bounds: zero would disable silently


def _dur(default: float) -> Any:
    return setting(default, kind="duration")


def _ratio(default: float) -> Any:
    return setting(default, lo=0, hi=1)


def _bytes(default: int) -> Any:
    return setting(default, kind="size")


@dataclass
class Common:
    state_dir: str | None = None  # relative to the config's data_dir; None: no state file
    save_every: float = _dur(300.0)  # seconds of wall time between state saves (and at flush)
    max_hosts: int = _n(200_000)  # LRU bound of every per-host / per-pair table


@dataclass
class DgaOptions:
    enabled: bool = True
    window: float = _dur(600.0)
    min_names: int = _n(5)  # distinct DGA-like NXDOMAIN registered domains from one host in the window
    offset: float = 0.05  # added to the bar of dgamodel.threshold (bits per letter): tuned, docs/DETECTION.md
    single_offset: float = 0.75  # one name alone must clear the bar by this much to be reported
    min_letters: int = _n(7)
    cooldown: float = _dur(3600.0)  # one host-level alert per host per cooldown
    words: bool = True  # the word-list rule (words.py): suppobox/matsnu/gozi/nymaim2-style names
    # the volume rule: this many distinct nonexistent registered domains that are DGA-like, made of
    # listed words (``words``) or within ``near`` bits per letter of the bar (pronounceable DGAs)
    min_word_names: int = _n(10)
    near: float = setting(1.5, lo=0)


@dataclass
class TunnelOptions:
    enabled: bool = True
    window: float = _dur(600.0)
    min_names: int = _n(30)  # distinct subdomains under one registered domain from one client
    min_suspect: int = _n(20)  # of which carry data (per-name test below)
    min_suspect_ratio: float = _ratio(0.5)
    min_bytes: int = _bytes(2000)  # bytes carried in the subdomain part in the window
    sub_len: int = _n(40)  # a subdomain part this long carries data …
    label_len: int = _n(30)  # … or one label this long with high entropy …
    entropy: float = 3.5  # … (bits per character, on labels of 12+ characters)
    odd_types_ratio: float = _ratio(0.5)  # TXT/NULL/CNAME/MX/ANY share that lowers min_suspect to a third
    # bytes carried in distinct data-carrying names: evidence on its own, whatever share of the
    # pair's queries the rest (a tunnel's own polling) makes up
    data_bytes: int = _bytes(8000)
    cooldown: float = _dur(3600.0)


@dataclass
class BeaconOptions:
    enabled: bool = True
    min_conns: int = _n(20)
    max_samples: int = _n(256)  # connection times kept per (src, dst)
    threshold: float = _ratio(0.8)  # RITA-style score in [0, 1]
    min_interval: float = 1.0  # median interval below this is a burst, not a beacon
    # Fast beacons (median interval under fast_interval) are scored too, with a guard that keeps
    # benign polling quiet: at least fast_min_conns connections spanning fast_span or more, coverage
    # measured against fast_span (a two-minute beacon is whole), the threshold raised by fast_margin,
    # and the intervals' own regularity (ts_madm) at least fast_dispersion.
    fast_interval: float = 5.0
    fast_min_conns: int = _n(40)
    fast_span: float = _dur(120.0)
    fast_margin: float = _ratio(0.05)
    fast_dispersion: float = _ratio(0.8)  # and intervals this regular (1 - MADM/median): ±10% jitter is ~0.95
    window: float = _dur(86400.0)
    outbound_only: bool = True  # inside host to the internet only
    cooldown: float = _dur(86400.0)  # one alert per pair per day


@dataclass
class ScanOptions:
    enabled: bool = True
    window: float = _dur(300.0)
    min_ports: int = _n(15)  # distinct ports probed on one host
    min_hosts: int = _n(20)  # distinct hosts probed on one port
    cooldown: float = _dur(900.0)


@dataclass
class ExfilOptions:
    enabled: bool = True
    window: float = _dur(3600.0)
    floor: int = _bytes(500_000_000)  # bytes per window from one host, whatever its history
    zone_floors: dict[str, int] = setting(
        default_factory=lambda: {
            "emr": 50_000_000,
            "his": 100_000_000,
            "server": 100_000_000,
            "lis": 100_000_000,
        },
        keys=ZONES,
        item="size",
    )
    segment_floor: int = _bytes(2_000_000_000)
    sigmas: float = 4.0  # above mean + sigmas × std of the host's past windows …
    factor: float = 3.0  # … and above factor × its mean
    min_history: int = _n(6)  # past windows needed before the baseline counts
    alpha: float = _ratio(0.1)  # EWMA weight of a finished window


@dataclass
class NxOptions:
    enabled: bool = True
    window: float = _dur(300.0)
    min_count: int = _n(20)
    min_names: int = _n(10)
    factor: float = 5.0  # and above factor × the host's usual count per window, once it has history
    alpha: float = _ratio(0.1)
    cooldown: float = _dur(900.0)


SECTIONS: dict[str, type] = {
    "behaviour": Common,
    "dga": DgaOptions,
    "dns_tunnel": TunnelOptions,
    "beacon": BeaconOptions,
    "port_scan": ScanOptions,
    "exfiltration": ExfilOptions,
    "nxdomain_burst": NxOptions,
}


@dataclass
class BehaviourOptions:
    common: Common = setting(default_factory=Common)
    dga: DgaOptions = setting(default_factory=DgaOptions)
    dns_tunnel: TunnelOptions = setting(default_factory=TunnelOptions)
    beacon: BeaconOptions = setting(default_factory=BeaconOptions)
    port_scan: ScanOptions = setting(default_factory=ScanOptions)
    exfiltration: ExfilOptions = setting(default_factory=ExfilOptions)
    nxdomain_burst: NxOptions = setting(default_factory=NxOptions)
    state_path: Path | None = None


def load_options(config: Config | None) -> BehaviourOptions:
    """The behavioural detectors' settings from ``config`` (all defaults when it is None)."""
    out = BehaviourOptions()
    if config is None:
        return out
    for section, cls in SECTIONS.items():
        setattr(
            out, "common" if section == "behaviour" else section, config.section(f"detectors.{section}", cls)
        )
    if out.common.state_dir:
        p = Path(out.common.state_dir).expanduser()
        out.state_path = p if p.is_absolute() else Path(config.data_dir) / p
    return out


for _name, _cls in SECTIONS.items():
    declare_section(f"detectors.{_name}", _cls, load_options if _name == "behaviour" else None)
