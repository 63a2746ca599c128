"""Detector settings from the loaded config: segments, the zone policy matrix, noise control and each
detector's options, validated here with errors that name the key and its line.

Layout (all optional; the defaults are shown)::

    segments:
      - {name: icu, cidrs: [10.20.0.0/16], zone: clinical, criticality: high}  # zone: one of ZONES
    detectors:
      noise:
        window: 5m                     # same (category, src_ip, indicator) within this → one alert
        suppress:                      # every given key must match; indicator takes * and ? globs
          - {category: policy_ott, src: 10.20.0.0/24, indicator: "*.zalo.me", rule: ..., dst: ...,
             segment: wards, dst_segment: ..., comment: "approved by the board"}
      feedmatch: {enabled: true}
      remote_access: {enabled: true}
      ott: {enabled: true, zones: [clinical, his, emr, pacs, lis]}
      plaintext: {enabled: true, anonymous: true}   # anonymous: report anonymous FTP access
      weak_password: {enabled: true}
      segmentation:
        enabled: true
        deny: {guest: [his, emr, pacs, lis, clinical, server, admin, airgap]}   # replaces the default
        allow: [{from: guest, to: dmz-portal},      # exceptions, by zone or segment name …
                {from: guest, to: server, ports: [53/udp, 53/tcp]}]  # … or only these services
      airgap: {enabled: true}
      dns_bypass:
        enabled: true
        resolvers: [10.40.0.53]        # the hospital's resolvers (and their forwarders)
        exempt_zones: [guest]          # unmanaged devices
        doh_lists: [../shared/testdata/misp-warninglists/lists/public-dns-hostname/list.json]

Each section is declared to the ground's config reader as a dataclass (``NoiseSection`` …), which
checks the keys and simple types; this module checks what needs the zones and segments. Other sections
under ``detectors`` (dga, tunnel, beacon, sigma, …) belong to other detectors and are left alone here.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wardwatch.alerts import CATEGORIES
from wardwatch.config import Config, ConfigError, KeyPath, Reader, declare_section, setting
from wardwatch.segments import ZONES, SegmentMap, ZonePolicy, criticality_level

from . import lists
from .policy.segmentation import ServiceAllow

POLICY_DETECTORS = (
    "feedmatch",
    "remote_access",
    "ott",
    "plaintext",
    "weak_password",
    "segmentation",
    "airgap",
    "dns_bypass",
)
DEFAULT_OTT_ZONES = ("clinical", "his", "emr", "pacs", "lis")
DEFAULT_WINDOW = 300.0


# -- the sections as the config file spells them (zones, segments and lists are checked below) ---------
@dataclass(frozen=True)
class NoiseSection:
    window: float = setting(DEFAULT_WINDOW, kind="duration")
    suppress: Any = setting(None, kind="raw")


@dataclass(frozen=True)
class Toggle:
    enabled: bool = True


@dataclass(frozen=True)
class OttSection:
    enabled: bool = True
    zones: Any = setting(DEFAULT_OTT_ZONES, kind="raw")


@dataclass(frozen=True)
class PlaintextSection:
    enabled: bool = True
    anonymous: bool = True  # report anonymous FTP access (policy.plaintext.anonymous)


@dataclass(frozen=True)
class SegmentationSection:
    enabled: bool = True
    deny: Any = setting(None, kind="raw")  # None: the default matrix (segments.ZonePolicy)
    allow: Any = setting(None, kind="raw")


@dataclass(frozen=True)
class DnsBypassSection:
    enabled: bool = True
    resolvers: Any = setting(None, kind="raw")
    exempt_zones: Any = setting(("guest",), kind="raw")
    doh_lists: Any = setting(None, kind="raw")


SECTIONS: dict[str, type] = {
    "noise": NoiseSection,
    "feedmatch": Toggle,
    "remote_access": Toggle,
    "ott": OttSection,
    "plaintext": PlaintextSection,
    "weak_password": Toggle,
    "segmentation": SegmentationSection,
    "airgap": Toggle,
    "dns_bypass": DnsBypassSection,
}
_SUPPRESS_KEYS = ("category", "src", "dst", "indicator", "rule", "segment", "dst_segment", "comment")


@dataclass(frozen=True)
class Suppression:
    """One pattern of the suppression list; every key it sets must match."""

    category: str | None = None
    rule: str | None = None
    indicator: str | None = None
    src: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | str | None = None
    dst: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | str | None = None
    segment: str | None = None
    dst_segment: str | None = None
    comment: str = ""


@dataclass
class Settings:
    segments: SegmentMap
    zones: ZonePolicy = field(default_factory=ZonePolicy)
    seg_services: tuple[ServiceAllow, ...] = ()  # segmentation exceptions limited to some ports
    enabled: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(POLICY_DETECTORS, True))
    window: float = DEFAULT_WINDOW
    suppress: tuple[Suppression, ...] = ()
    ott_zones: frozenset[str] = frozenset(DEFAULT_OTT_ZONES)
    resolvers: frozenset[str] = frozenset()
    dns_exempt_zones: frozenset[str] = frozenset(("guest",))
    extra_doh: frozenset[str] = frozenset()  # exact names from doh_lists
    anonymous: bool = True  # plaintext: report anonymous FTP access

    @classmethod
    def default(cls) -> Settings:
        return cls(segments=SegmentMap([]))


class _V(Reader):
    """The ground's reader, with the policy section's leniencies: an empty key is an empty mapping, a
    lone string a list of one."""

    def __init__(self, config: Config) -> None:
        r = config.reader()
        super().__init__(r.path, r.lines)
        self.config = config

    def err(self, kp: KeyPath, msg: str) -> ConfigError:
        return self.error(kp, msg)

    def mapping(self, value: Any, kp: KeyPath, optional: bool = True) -> dict[str, Any]:
        return super().mapping(value, kp, optional)

    def seq(self, value: Any, kp: KeyPath, one: bool = True) -> list[Any]:
        return super().seq(value, kp, one)

    def keys(self, d: dict[str, Any], kp: KeyPath, known: tuple[str, ...]) -> None:
        self.unknown(d, kp, known)

    def zone(self, v: Any, kp: KeyPath, extra: tuple[str, ...] = ()) -> str:
        s = str(v).strip().lower() if isinstance(v, str) else None
        if s not in ZONES + extra:
            raise self.err(kp, f"unknown zone {v!r} (expected one of {', '.join(ZONES + extra)})")
        return s

    def ip(self, v: Any, kp: KeyPath) -> str:
        try:
            return str(ipaddress.ip_address(str(v).strip()))
        except ValueError:
            raise self.err(kp, f"not an IP address: {v!r}") from None

    def nets(self, v: Any, kp: KeyPath) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        out = []
        for i, c in enumerate(self.seq(v, kp)):
            try:
                out.append(ipaddress.ip_network(str(c).strip(), strict=False))
            except ValueError:
                raise self.err(
                    (*kp, i) if isinstance(v, list) else kp, f"not an address or CIDR: {c!r}"
                ) from None
        return tuple(out)


def _segments(v: _V, config: Config) -> SegmentMap:
    rows = []
    for i, s in enumerate(config.segments):
        zone = v.zone(s.zone, ("segments", i, "zone")) if s.zone is not None else None
        crit = criticality_level(s.criticality)
        if crit is None:
            raise v.err(
                ("segments", i, "criticality"),
                f"expected low, medium, high, critical or 1-4, got {s.criticality!r}",
            )
        rows.append((s.name, s.cidrs, zone, crit))
    return SegmentMap(rows)


def _port_spec(v: _V, raw: Any, kp: KeyPath) -> tuple[int, int, str | None]:
    """``53``, ``53/udp``, ``8000-8100/tcp`` → (low, high, proto or None for any)."""
    text = str(raw).strip().lower()
    ports, _, proto = text.partition("/")
    lo, _, hi = ports.partition("-")
    try:
        a, b = int(lo), int(hi or lo)
    except ValueError:
        a = b = -1
    if not (0 <= a <= b <= 65535) or proto not in ("", "tcp", "udp", "sctp"):
        raise v.err(kp, f"expected a port, port range and optional /tcp, /udp or /sctp, got {raw!r}")
    return a, b, proto or None


def _suppression(v: _V, raw: Any, kp: KeyPath, segments: SegmentMap) -> Suppression:
    d = v.mapping(raw, kp)
    v.keys(d, kp, _SUPPRESS_KEYS)
    if not any(k in d for k in _SUPPRESS_KEYS if k != "comment"):
        raise v.err(kp, "a suppression needs at least one of " + ", ".join(_SUPPRESS_KEYS[:-1]))
    cat = d.get("category")
    if cat is not None and cat not in CATEGORIES:
        raise v.err((*kp, "category"), f"unknown category {cat!r} (expected one of {', '.join(CATEGORIES)})")
    for k in ("segment", "dst_segment"):
        if d.get(k) is not None and str(d[k]) not in segments.segments:
            raise v.err((*kp, k), f"no segment named {d[k]!r}")
    addr: dict[str, Any] = {}
    for k in ("src", "dst"):
        if d.get(k) is not None:
            addr[k] = v.nets(d[k], (*kp, k))
    return Suppression(
        category=cat,
        rule=str(d["rule"]) if d.get("rule") is not None else None,
        indicator=str(d["indicator"]).lower() if d.get("indicator") is not None else None,
        src=addr.get("src"),
        dst=addr.get("dst"),
        segment=str(d["segment"]) if d.get("segment") is not None else None,
        dst_segment=str(d["dst_segment"]) if d.get("dst_segment") is not None else None,
        comment=str(d.get("comment") or ""),
    )


def load_settings(config: Config) -> Settings:
    """Validate the detector part of ``config``; raises ``ConfigError`` naming the key and line."""
    v = _V(config)
    segments = _segments(v, config)
    sec: dict[str, Any] = {name: config.section(f"detectors.{name}", cls) for name, cls in SECTIONS.items()}
    enabled = {name: bool(sec[name].enabled) for name in POLICY_DETECTORS}

    noise = sec["noise"]
    window = noise.window
    suppress = tuple(
        _suppression(v, s, ("detectors", "noise", "suppress", i), segments)
        for i, s in enumerate(v.seq(noise.suppress, ("detectors", "noise", "suppress")))
    )

    seg = sec["segmentation"]
    deny = None
    if seg.deny is not None:
        deny = {}
        kp: KeyPath = ("detectors", "segmentation", "deny")
        for src, dsts in v.mapping(seg.deny, kp).items():
            z = v.zone(src, (*kp, src))
            if dsts in ("all", "*"):
                deny[z] = set(ZONES) - {z}
            else:
                deny[z] = {v.zone(d, (*kp, src, i)) for i, d in enumerate(v.seq(dsts, (*kp, src)))}
    allow = []
    services: list[ServiceAllow] = []
    names = set(ZONES) | set(segments.segments)
    for i, a in enumerate(v.seq(seg.allow, ("detectors", "segmentation", "allow"))):
        akp: KeyPath = ("detectors", "segmentation", "allow", i)
        d = v.mapping(a, akp)
        v.keys(d, akp, ("from", "to", "ports", "comment"))
        for k in ("from", "to"):
            if str(d.get(k)) not in names:
                raise v.err((*akp, k), f"{d.get(k)!r} is neither a zone nor a segment name")
        if d.get("ports") is None:
            allow.append((str(d["from"]), str(d["to"])))
        else:
            ports = tuple(
                _port_spec(v, p, (*akp, "ports", j)) for j, p in enumerate(v.seq(d["ports"], (*akp, "ports")))
            )
            services.append(ServiceAllow(str(d["from"]), str(d["to"]), ports))

    ott = sec["ott"]
    ott_zones = frozenset(
        v.zone(z, ("detectors", "ott", "zones", i))
        for i, z in enumerate(v.seq(ott.zones, ("detectors", "ott", "zones")))
    )

    dns = sec["dns_bypass"]
    kp = ("detectors", "dns_bypass")
    resolvers = frozenset(
        v.ip(r, (*kp, "resolvers", i)) for i, r in enumerate(v.seq(dns.resolvers, (*kp, "resolvers")))
    )
    exempt = frozenset(
        v.zone(z, (*kp, "exempt_zones", i))
        for i, z in enumerate(v.seq(dns.exempt_zones, (*kp, "exempt_zones")))
    )
    extra: set[str] = set()
    for i, p in enumerate(v.seq(dns.doh_lists, (*kp, "doh_lists"))):
        path = Path(str(p)).expanduser()
        if not path.is_absolute():
            path = (config.path.parent / path).resolve()
        try:
            extra.update(lists.read_name_list(path))
        except lists.ListError as e:
            raise v.err((*kp, "doh_lists", i), str(e)) from None

    return Settings(
        segments=segments,
        zones=ZonePolicy(deny, allow),
        seg_services=tuple(services),
        enabled=enabled,
        window=window,
        suppress=suppress,
        ott_zones=ott_zones,
        resolvers=resolvers,
        dns_exempt_zones=exempt,
        extra_doh=frozenset(extra),
        anonymous=bool(sec["plaintext"].anonymous),
    )


for _name, _cls in SECTIONS.items():
    # the policy sections share one loader; checking it once per file is enough, but each section is
    # declared so that the reader knows every valid name under ``detectors``
    declare_section(f"detectors.{_name}", _cls, load_settings if _name == "noise" else None)


@dataclass(frozen=True)
class CoverageSection:
    """``detectors.coverage``: the coverage watchdog (``detectors/coverage.py``, docs/DETECTION.md)."""

    enabled: bool = True
    silent_after: float = setting(900.0, kind="duration", lo=1)  # traffic gone this long: sensor_silent
    drops_rate: float = setting(100.0, lo=0)  # kernel drops per second over drops_window (0: off)
    drops_share: float = setting(0.01, lo=0, hi=1)  # dropped share of the packets (0: off)
    drops_min: int = setting(100, lo=1)  # fewer drops than this in a window never alert
    drops_window: float = setting(60.0, kind="duration", lo=1)
    # sensor_overload: connections, DNS transactions or fragments the sensor saw but had to stop
    # tracking because a state table was full (counted by the sensor, see ingest.sensor.SHED_COUNTERS),
    # at least this many within overload_window (0: off)
    overload_min: int = setting(1000, lo=0)
    overload_window: float = setting(300.0, kind="duration", lo=1)
    segments: tuple[str, ...] | None = None  # watched segments; None: every configured one
    sensors: bool = True  # also watch each sensor as a whole


def load_coverage(config: Config) -> CoverageSection:
    sec: CoverageSection = config.section("detectors.coverage", CoverageSection)
    known = [s.name for s in config.segments]
    for i, name in enumerate(sec.segments or ()):
        if name not in known:
            raise config.error(
                ("detectors", "coverage", "segments", i),
                f"no segment named {name!r} (expected one of {', '.join(known) or 'no segments are configured'})",
            )
    return sec


declare_section("detectors.coverage", CoverageSection, load_coverage)


def _in(ip: str | None, nets: Any) -> bool:
    if ip is None:
        return False
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(a.version == n.version and a in n for n in nets)


def suppressed(s: Suppression, alert: Any) -> bool:
    """Does suppression ``s`` silence ``alert`` (a ``wardwatch.alerts.Alert``)?"""
    if s.category is not None and alert.category != s.category:
        return False
    if s.rule is not None and alert.rule != s.rule:
        return False
    if s.segment is not None and alert.segment != s.segment:
        return False
    if s.dst_segment is not None and alert.dst_segment != s.dst_segment:
        return False
    if s.indicator is not None and not fnmatch.fnmatchcase(str(alert.indicator).lower(), s.indicator):
        return False
    if s.src is not None and not _in(alert.src_ip, s.src):
        return False
    return not (s.dst is not None and not _in(alert.dst_ip, s.dst))
