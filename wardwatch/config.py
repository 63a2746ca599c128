"""The wardwatch config file (YAML), loaded into plain dataclasses. No side effects: nothing is created,
fetched or opened besides the file itself.

Errors raise ``ConfigError`` naming the file, the line and the key path::

    hospital.yaml:14: feeds[2].format: unknown format 'csvv' (expected one of domains, hosts, …)

Layout (relative paths resolve from the config file's folder)::

    data_dir: var                      # snapshots and state (default: "var" beside the config)
    segments:
      - {name: icu, cidrs: [10.20.0.0/16], zone: clinical, criticality: high}
    feeds:
      - name: urlhaus                  # [A-Za-z0-9._-]+, unique; also the snapshot folder name
        url: https://example.org/csv.txt   # or path: feeds/urlhaus.csv (a file, archive or folder)
        format: urlhaus-csv            # see FEED_FORMATS
        kind: block                    # block (default) | allow: the entries join the allow-list
        refresh: 1h                    # how old a snapshot may get before `feeds update` fetches (default 6h)
        confidence: 80                 # 0-100, used where the feed gives none per entry
        tags: [malware]
        timeout: 30s                   # per socket operation and for the whole body
        retries: 3                     # after the first attempt, with doubling back-off from `backoff`
        backoff: 2s
        max_size: 256MB
        max_shrink: 0.5                # a new copy with fewer than (1 - max_shrink) x the last good
                                       # copy's entries is refused (the last good copy stays)
        min_valid: 0.5                 # a new copy where fewer entries than this share are valid is refused
        url_hosts: exact               # hosts taken from URLs match that exact name (default) or `suffix`
        allow_reserved: false          # true: also accept documentation/benchmarking addresses
                                       # (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 198.18.0.0/15,
                                       # 2001:db8::/32…), for test and lab feeds. Private, loopback,
                                       # link-local, multicast and unspecified addresses and huge
                                       # CIDRs are refused whatever this says (default false)
        enabled: true
    allowlist:                         # always wins over every feed
      - hospital.vn                    # a domain: it and all its subdomains
      - 10.0.0.0/8                     # an address or CIDR
      - {value: partner.com.vn, match: exact}          # only that exact name
      - {path: lists/tranco10k.json, format: misp-warninglist, match: exact}
      - {url: https://example.org/ok.txt, format: domains, name: ok-list, match: suffix}
    kafka: {bootstrap: "127.0.0.1:9092", ...}
    clickhouse: {url: "chdb:var/store", ...}
    detectors: {dga: {...}, ...}        # each detector's section, declared by the detectors room
    store: {retention: {...}, ...}      # the store room's (wardwatch.store.settings)
    sensor: {workers: 0, flows: {...}}  # the sensor's SensorConfig (wardwatch.ingest.sensor)

Allow-list entries: a plain string is matched with its subdomains (``match: suffix``); a list loaded from
a file or URL is matched exactly (``match: exact``) unless it says otherwise, because lists such as the
MISP top-10k or dynamic-DNS warning lists name platforms whose subdomains are often malicious. File and
URL allow-lists are fetched, validated and snapshotted like feeds (``kind: allow``).

One reader for the whole file. The ground reads its own sections (``data_dir``, ``segments``, ``feeds``,
``allowlist``, and the addresses of ``kafka`` and ``clickhouse``); every other section belongs to a room,
which declares it as a dataclass with its defaults (``declare_section``, as Akvorado's components each
bring a ``Configuration`` and ``DefaultConfiguration()``) and reads it with ``Config.section``, so the
same validation, duration and size parsing and error style apply everywhere. An unknown key at any level
is an error naming the file, the line and the closest valid key (``did you mean 'segments'?``).

The top level is a fixed layout (``TOP_LEVEL``) so that a misspelt section is caught whatever rooms are
imported; a room that adds a section declares it, which also makes its name valid at the top level.
Room sections are kept raw in ``Config.extra`` (``detectors`` in ``Config.detectors``) until their room
reads them; ``check_config`` reads every declared section at once (the CLI does, before any capture)
and returns the warnings of a config that runs but misses something (no segments, no feeds).
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import math
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from wardwatch.errors import UsageError

# The names of threatfeeds' parsers (``wardwatch.threatfeeds.formats.FORMATS``, which a test keeps equal):
# the ground cannot import that room, and the file's layout must be checked without it.
FEED_FORMATS = (
    "hosts",
    "domains",
    "maltrail",
    "urlhaus-csv",
    "threatfox-csv",
    "threatfox-json",
    "openphish",
    "ip-list",
    "spamhaus-drop",
    "zeek-intel",
    "misp-warninglist",
    "stix2",
)
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)?")
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?")
_SIZES = {
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 10**6,
    "mb": 10**6,
    "mib": 1 << 20,
    "g": 10**9,
    "gb": 10**9,
    "gib": 1 << 30,
    "t": 10**12,
    "tb": 10**12,
    "tib": 1 << 40,
}
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}

# The top-level layout (the ARCHITECTURE.md "Config" contract). The ground reads the first group; rooms
# declare the contents of the others. ``notify`` and ``report`` are reserved for their rooms and kept raw until they
# declare their sections; ``inputs`` (ingest's collector and log import) likewise.
GROUND_SECTIONS = ("data_dir", "segments", "feeds", "allowlist", "kafka", "clickhouse")
ROOM_SECTIONS = ("detectors", "sensor", "store", "notify", "http", "report", "inputs")  # http: the service room
TOP_LEVEL = GROUND_SECTIONS + ROOM_SECTIONS


def parse_duration(value: Any) -> float | None:
    """Seconds from a number of seconds or ``<n>ms|s|m|h|d|w|y`` (``None`` when it is neither)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value >= 0 and math.isfinite(value) else None
    m = _DURATION_RE.fullmatch(value.strip().lower()) if isinstance(value, str) else None
    return float(m.group(1)) * _SECONDS[m.group(2) or "s"] if m else None


def parse_size(value: Any) -> int | None:
    """Bytes from a number or ``<n>B|KB|KiB|MB|MiB|GB|GiB|TB|TiB`` (k, m, g, t alone are decimal)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value) if value >= 0 and math.isfinite(value) else None
    m = _SIZE_RE.fullmatch(value.strip().lower()) if isinstance(value, str) else None
    return int(float(m.group(1)) * _SIZES[m.group(2) or "b"]) if m else None


def setting(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Any = dataclasses.MISSING,
    kind: str | None = None,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple[str, ...] | None = None,
    keys: tuple[str, ...] | None = None,
    item: str | None = None,
) -> Any:
    """A dataclass field of a config section, with what the reader needs beyond its type.

    ``kind``: ``duration`` (seconds), ``size`` (bytes), ``path`` (resolved from the config's folder)
    or ``raw`` (any YAML value, for the room to check); ``lo``/``hi`` bound numbers; ``choices`` lists a
    string's allowed values; ``keys`` a mapping's allowed keys and ``item`` the kind of its values.
    """
    meta = {"kind": kind, "lo": lo, "hi": hi, "choices": choices, "keys": keys, "item": item}
    meta = {k: v for k, v in meta.items() if v is not None}
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


KeyPath = tuple[str | int, ...]


class ConfigError(UsageError, ValueError):
    """A config problem, as ``file:line: key.path: message``."""


@dataclass(frozen=True)
class Segment:
    name: str
    cidrs: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    zone: str | None = None
    criticality: str | int | None = None


@dataclass(frozen=True)
class FeedConfig:
    name: str
    format: str
    path: Path | None = None
    url: str | None = None
    kind: str = "block"  # "block" | "allow"
    refresh: float = 6 * 3600.0
    confidence: int | None = None
    tags: tuple[str, ...] = ()
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 2.0
    max_size: int = 256 << 20
    max_shrink: float = 0.5
    max_growth: float = 10.0  # a copy with more than this many times the last good entry count is refused
    min_valid: float = 0.5
    url_hosts: str = "exact"
    allow_reserved: bool = False  # accept documentation/benchmarking address blocks (test feeds)
    trusted: bool = False  # skip the top-domain guard (a curated in-house list may name google.com)
    match: str = "suffix"  # for kind=allow: "exact" or "suffix"
    enabled: bool = True

    @property
    def origin(self) -> str:
        return self.url or str(self.path)


@dataclass(frozen=True)
class AllowEntry:
    value: str
    exact: bool = False


@dataclass(frozen=True)
class Allowlist:
    entries: tuple[AllowEntry, ...] = ()
    sources: tuple[FeedConfig, ...] = ()


@dataclass(frozen=True)
class KafkaConfig:
    bootstrap: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClickHouseConfig:
    url: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    path: Path
    data_dir: Path
    segments: tuple[Segment, ...] = ()
    feeds: tuple[FeedConfig, ...] = ()
    allowlist: Allowlist = Allowlist()
    kafka: KafkaConfig | None = None
    clickhouse: ClickHouseConfig | None = None
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    lines: dict[KeyPath, int] = field(default_factory=dict, repr=False, compare=False)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def where(self, keypath: KeyPath) -> str:
        return _where(self.path, self.lines, keypath)

    def reader(self) -> Reader:
        return Reader(self.path, self.lines)

    def raw_section(self, path: str) -> Any:
        """The YAML value at a dotted section path (``"detectors.dga"``), ``None`` when absent."""
        node: Any = self.raw
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def section(self, path: str, schema: type | None = None) -> Any:
        """The section at ``path`` read into its declared dataclass (or ``schema``), defaults filled."""
        if schema is None:
            decl = _SECTIONS.get(path)
            if decl is None or decl.schema is None:
                raise KeyError(f"no config section {path!r} is declared with a schema")
            schema = decl.schema
        return self.reader().dataclass(self.raw_section(path), tuple(path.split(".")), schema)

    def error(self, keypath: KeyPath, message: str) -> ConfigError:
        """A ``ConfigError`` pointing at ``keypath`` (e.g. ``("detectors", "dga", "threshold")``)."""
        return ConfigError(f"{self.where(keypath)}: {_dotted(keypath)}: {message}")

    @property
    def all_feeds(self) -> tuple[FeedConfig, ...]:
        """Block feeds and file/URL allow-lists: everything `feeds update` fetches."""
        return self.feeds + self.allowlist.sources


def _dotted(keypath: KeyPath) -> str:
    out = ""
    for k in keypath:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out or "(top level)"


def _where(path: Path, lines: dict[KeyPath, int], keypath: KeyPath) -> str:
    kp = tuple(keypath)
    while kp and kp not in lines:
        kp = kp[:-1]
    return f"{path.name}:{lines.get(kp, 1)}"


def _record_lines(node: yaml.Node, data: Any, keypath: KeyPath, lines: dict[KeyPath, int]) -> None:
    """Walk the composed node tree beside the constructed data and note each value's line."""
    lines[keypath] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        for key_node, value_node in node.value:
            key = key_node.value
            if key in data:
                lines[(*keypath, key)] = key_node.start_mark.line + 1
                _record_lines(value_node, data[key], (*keypath, key), lines)
                lines[(*keypath, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode) and isinstance(data, list):
        for i, (item_node, item) in enumerate(zip(node.value, data, strict=False)):
            _record_lines(item_node, item, (*keypath, i), lines)


class Reader:
    """Validation helpers that know where each key path is in the file: the one reader every section
    (the ground's and the rooms') goes through."""

    def __init__(self, path: Path, lines: dict[KeyPath, int]) -> None:
        self.path = path
        self.base = path.parent
        self.lines = lines

    def error(self, keypath: KeyPath, message: str) -> ConfigError:
        return ConfigError(f"{_where(self.path, self.lines, keypath)}: {_dotted(keypath)}: {message}")

    def mapping(self, value: Any, kp: KeyPath, optional: bool = False) -> dict[str, Any]:
        """``value`` as a mapping; with ``optional``, an empty key (None) reads as ``{}``."""
        if value is None and optional:
            return {}
        if not isinstance(value, dict):
            raise self.error(kp, f"expected a mapping, got {_kind(value)}")
        return value

    def seq(self, value: Any, kp: KeyPath, one: bool = False) -> list[Any]:
        """``value`` as a list (None reads as ``[]``); with ``one``, a lone string is a list of one
        and a tuple (a dataclass default) is accepted."""
        if value is None:
            return []
        if one and isinstance(value, str):
            return [value]
        if one and isinstance(value, tuple):
            return list(value)
        if not isinstance(value, list):
            raise self.error(kp, f"expected a list, got {_kind(value)}")
        return value

    def string(self, value: Any, kp: KeyPath) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) or str(value).strip() == "":
            raise self.error(kp, f"expected a non-empty string, got {_kind(value)}")
        return str(value).strip()

    def choice(self, value: Any, kp: KeyPath, options: tuple[str, ...]) -> str:
        s = self.string(value, kp)
        if s not in options:
            raise self.error(kp, f"unknown {kp[-1]} {s!r} (expected one of {', '.join(options)})")
        return s

    def number(self, value: Any, kp: KeyPath, lo: float, hi: float) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            bounds = f" from {lo:g} to {hi:g}" if math.isfinite(lo) or math.isfinite(hi) else ""
            raise self.error(kp, f"expected a number{bounds}, got {value!r}")
        return float(value)

    def integer(self, value: Any, kp: KeyPath, lo: int, hi: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            bounds = f"of at least {lo}" if hi >= 2**63 - 1 else f"from {lo} to {hi}"
            raise self.error(kp, f"expected an integer {bounds}, got {value!r}")
        return value

    def boolean(self, value: Any, kp: KeyPath) -> bool:
        if not isinstance(value, bool):
            raise self.error(kp, f"expected true or false, got {value!r}")
        return value

    def duration(self, value: Any, kp: KeyPath) -> float:
        d = parse_duration(value)
        if d is None:
            raise self.error(kp, f"expected a duration such as 30s, 15m, 6h or 1d, got {value!r}")
        return d

    def size(self, value: Any, kp: KeyPath, lo: int = 1) -> int:
        n = parse_size(value)
        if n is None or n < lo:
            raise self.error(kp, f"expected a size such as 256MB or 10MiB, got {value!r}")
        return n

    def path_value(self, value: Any, kp: KeyPath) -> Path:
        p = Path(self.string(value, kp)).expanduser()
        return p if p.is_absolute() else (self.base / p).resolve()

    def unknown(self, data: dict[str, Any], kp: KeyPath, known: tuple[str, ...] | list[str]) -> None:
        for key in data:
            if key not in known:
                raise self.error((*kp, key), unknown_key_message(key, known))

    def dataclass(self, raw: Any, kp: KeyPath, schema: type) -> Any:
        """``raw`` (a mapping, or nothing for all defaults) read into the dataclass ``schema``."""
        d = {} if raw is None else self.mapping(raw, kp)
        fields = [f for f in dataclasses.fields(schema) if f.init]
        self.unknown(d, kp, [f.name for f in fields])
        hints = typing.get_type_hints(schema)
        values = {}
        for f in fields:
            if f.name in d:
                values[f.name] = self.value(d[f.name], (*kp, f.name), hints[f.name], f.metadata)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise self.error(kp, f"missing key {f.name!r}")
        return schema(**values)

    def value(self, v: Any, kp: KeyPath, hint: Any, meta: Any = None) -> Any:
        """One value read by its type (``hint``) and the ``setting`` metadata of its field."""
        meta = meta or {}
        kind = meta.get("kind")
        if kind == "raw":
            return v
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (typing.Union, types.UnionType) and type(None) in args:
            if v is None:
                return None
            rest = [a for a in args if a is not type(None)]
            hint = rest[0] if len(rest) == 1 else Any
            origin, args = typing.get_origin(hint), typing.get_args(hint)
        if kind == "duration":
            return self.bounded(self.duration(v, kp), kp, meta)
        if kind == "size":
            return self.size(v, kp, lo=int(meta.get("lo", 0)))
        if kind == "path":
            return self.path_value(v, kp)
        if dataclasses.is_dataclass(hint) and isinstance(hint, type):
            return self.dataclass(v, kp, hint)
        if hint is bool:
            return self.boolean(v, kp)
        if hint is int:
            lo, hi = meta.get("lo", 0), meta.get("hi", 2**63 - 1)
            return self.integer(v, kp, int(lo), int(hi))
        if hint is float:
            lo, hi = meta.get("lo", -math.inf), meta.get("hi", math.inf)
            return self.number(v, kp, lo, hi)
        if hint is str:
            return self.choice(v, kp, meta["choices"]) if "choices" in meta else self.string(v, kp)
        if origin in (tuple, list, frozenset, set) and args:
            items = [v] if isinstance(v, (str, int, float)) and not isinstance(v, bool) else self.seq(v, kp)
            got = [self.value(x, (*kp, i), args[0], {"kind": meta.get("item")}) for i, x in enumerate(items)]
            return frozenset(got) if origin in (frozenset, set) else origin(got)
        if origin is dict and args:
            d = self.mapping({} if v is None else v, kp)
            if "keys" in meta:
                self.unknown(d, kp, meta["keys"])
            return {k: self.value(x, (*kp, k), args[1], {"kind": meta.get("item")}) for k, x in d.items()}
        return v

    def bounded(self, x: float, kp: KeyPath, meta: Any) -> float:
        lo, hi = meta.get("lo", 0), meta.get("hi", math.inf)
        if not lo <= x <= hi:
            raise self.error(kp, f"expected from {lo:g}s to {hi:g}s, got {x:g}s")
        return x




def unknown_key_message(key: Any, known: tuple[str, ...] | list[str]) -> str:
    """``unknown key (did you mean 'segments'? expected one of …)``: the closest valid key first."""
    close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key ({hint}expected one of {', '.join(known)})"


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


_FEED_KEYS = (
    "name",
    "path",
    "url",
    "format",
    "kind",
    "refresh",
    "confidence",
    "tags",
    "timeout",
    "retries",
    "backoff",
    "max_size",
    "max_shrink",
    "max_growth",
    "min_valid",
    "url_hosts",
    "allow_reserved",
    "trusted",
    "match",
    "enabled",
)


def _feed(r: Reader, raw: Any, kp: KeyPath, kind: str, default_name: str | None = None) -> FeedConfig:
    d = r.mapping(raw, kp)
    r.unknown(d, kp, _FEED_KEYS)
    if "name" in d:
        name = r.string(d["name"], (*kp, "name"))
        if not _NAME_RE.fullmatch(name):
            raise r.error((*kp, "name"), f"feed name {name!r} must match [A-Za-z0-9][A-Za-z0-9._-]*")
    elif default_name is not None:
        name = default_name
    else:
        raise r.error(kp, "missing key 'name'")
    if ("path" in d) == ("url" in d):
        raise r.error(kp, "needs exactly one of 'path' or 'url'")
    url = None
    path = None
    if "url" in d:
        url = r.string(d["url"], (*kp, "url"))
        if not url.startswith(("http://", "https://")):
            raise r.error((*kp, "url"), f"expected an http:// or https:// URL, got {url!r}")
    else:
        path = r.path_value(d["path"], (*kp, "path"))
    if "format" not in d:
        raise r.error(kp, f"missing key 'format' (one of {', '.join(FEED_FORMATS)})")
    fmt = r.choice(d["format"], (*kp, "format"), FEED_FORMATS)
    kind = r.choice(d.get("kind", kind), (*kp, "kind"), ("block", "allow"))
    tags = tuple(r.string(t, (*kp, "tags", i)) for i, t in enumerate(r.seq(d.get("tags"), (*kp, "tags"))))
    default_match = "exact" if kind == "allow" else "suffix"
    return FeedConfig(
        name=name,
        format=fmt,
        path=path,
        url=url,
        kind=kind,
        refresh=r.duration(d.get("refresh", "6h"), (*kp, "refresh")),
        confidence=(
            r.integer(d["confidence"], (*kp, "confidence"), 0, 100)
            if d.get("confidence") is not None
            else None
        ),
        tags=tags,
        timeout=r.duration(d.get("timeout", 30), (*kp, "timeout")),
        retries=r.integer(d.get("retries", 3), (*kp, "retries"), 0, 20),
        backoff=r.duration(d.get("backoff", 2), (*kp, "backoff")),
        max_size=r.size(d.get("max_size", 256 << 20), (*kp, "max_size")),
        max_shrink=r.number(d.get("max_shrink", 0.5), (*kp, "max_shrink"), 0, 1),
        max_growth=r.number(d.get("max_growth", 10), (*kp, "max_growth"), 1, 1e9),
        min_valid=r.number(d.get("min_valid", 0.5), (*kp, "min_valid"), 0, 1),
        url_hosts=r.choice(d.get("url_hosts", "exact"), (*kp, "url_hosts"), ("exact", "suffix")),
        allow_reserved=r.boolean(d.get("allow_reserved", False), (*kp, "allow_reserved")),
        trusted=r.boolean(d.get("trusted", False), (*kp, "trusted")),
        match=r.choice(d.get("match", default_match), (*kp, "match"), ("exact", "suffix")),
        enabled=r.boolean(d.get("enabled", True), (*kp, "enabled")),
    )


def _segment(r: Reader, raw: Any, kp: KeyPath) -> Segment:
    d = r.mapping(raw, kp)
    r.unknown(d, kp, ("name", "cidrs", "zone", "criticality"))
    if "name" not in d:
        raise r.error(kp, "missing key 'name'")
    name = r.string(d["name"], (*kp, "name"))
    cidrs_raw = d.get("cidrs")
    if isinstance(cidrs_raw, str):
        cidrs_raw = [cidrs_raw]
    cidrs = []
    for i, c in enumerate(r.seq(cidrs_raw, (*kp, "cidrs"))):
        try:
            cidrs.append(ipaddress.ip_network(r.string(c, (*kp, "cidrs", i)), strict=False))
        except ValueError as e:
            raise r.error((*kp, "cidrs", i), f"not a CIDR: {e}") from None
    if not cidrs:
        raise r.error(kp, "missing key 'cidrs' (a list of CIDRs)")
    zone = r.string(d["zone"], (*kp, "zone")) if d.get("zone") is not None else None
    crit = d.get("criticality")
    if crit is not None and (isinstance(crit, bool) or not isinstance(crit, (str, int))):
        raise r.error((*kp, "criticality"), f"expected a word or a number, got {crit!r}")
    return Segment(name, tuple(cidrs), zone, crit)


def _allowlist(r: Reader, raw: Any, kp: KeyPath, feed_names: set[str]) -> Allowlist:
    entries: list[AllowEntry] = []
    sources: list[FeedConfig] = []
    for i, item in enumerate(r.seq(raw, kp)):
        ikp = (*kp, i)
        if isinstance(item, (str, int)) and not isinstance(item, bool):
            entries.append(AllowEntry(r.string(item, ikp), exact=False))
            continue
        d = r.mapping(item, ikp)
        if "value" in d:
            r.unknown(d, ikp, ("value", "match"))
            match = r.choice(d.get("match", "suffix"), (*ikp, "match"), ("exact", "suffix"))
            entries.append(AllowEntry(r.string(d["value"], (*ikp, "value")), exact=match == "exact"))
            continue
        src = _feed(r, {**d, "kind": "allow"}, ikp, "allow", default_name=f"allowlist-{i}")
        if "name" not in d:
            stem = Path(src.url or str(src.path)).name.split(".")[0] or "list"
            src = replace(src, name=f"allow-{stem}-{i}")
        if src.name in feed_names:
            raise r.error((*ikp, "name"), f"duplicate feed name {src.name!r}")
        feed_names.add(src.name)
        sources.append(src)
    return Allowlist(tuple(entries), tuple(sources))


def _options(r: Reader, raw: Any, kp: KeyPath, required: str) -> tuple[str, dict[str, Any]]:
    d = r.mapping(raw, kp)
    if required not in d:
        raise r.error(kp, f"missing key {required!r}")
    value = d[required]
    if isinstance(value, list):
        value = ",".join(r.string(v, (*kp, required, i)) for i, v in enumerate(value))
    return r.string(value, (*kp, required)), {k: v for k, v in d.items() if k != required}


def parse_config(text: str, path: Path) -> Config:
    """Parse config text as if read from ``path`` (used for relative paths and messages)."""
    path = Path(path).resolve()
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        raise ConfigError(f"{path.name}:{line}: (yaml): {e.problem or e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path.name}:1: (yaml): {e}") from None
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _record_lines(node, data, (), lines)
    r = Reader(path, lines)
    if data is None:
        data = {}
    top = r.mapping(data, ())
    r.unknown(top, (), TOP_LEVEL + tuple(sorted(p[0] for p in _SECTIONS_TOP if p[0] not in TOP_LEVEL)))

    data_dir = r.path_value(top.get("data_dir", "var"), ("data_dir",))
    segments = tuple(
        _segment(r, s, ("segments", i)) for i, s in enumerate(r.seq(top.get("segments"), ("segments",)))
    )
    seen: dict[str, int] = {}
    for i, s in enumerate(segments):
        if s.name in seen:
            raise r.error(("segments", i, "name"), f"duplicate segment name {s.name!r}")
        seen[s.name] = i

    feeds: list[FeedConfig] = []
    names: set[str] = set()
    for i, f in enumerate(r.seq(top.get("feeds"), ("feeds",))):
        feed = _feed(r, f, ("feeds", i), "block")
        if feed.name in names:
            raise r.error(("feeds", i, "name"), f"duplicate feed name {feed.name!r}")
        names.add(feed.name)
        feeds.append(feed)
    allowlist = _allowlist(r, top.get("allowlist"), ("allowlist",), names)

    kafka = None
    if top.get("kafka") is not None:
        bootstrap, opts = _options(r, top["kafka"], ("kafka",), "bootstrap")
        kafka = KafkaConfig(bootstrap, opts)
    clickhouse = None
    if top.get("clickhouse") is not None:
        url, opts = _options(r, top["clickhouse"], ("clickhouse",), "url")
        clickhouse = ClickHouseConfig(url, opts)
    detectors: dict[str, dict[str, Any]] = {}
    for name, section in r.mapping(top.get("detectors") or {}, ("detectors",)).items():
        detectors[str(name)] = r.mapping(section if section is not None else {}, ("detectors", name))

    extra = {k: v for k, v in top.items() if k not in GROUND_SECTIONS and k != "detectors"}
    return Config(
        path=path,
        data_dir=data_dir,
        segments=segments,
        feeds=tuple(feeds),
        allowlist=allowlist,
        kafka=kafka,
        clickhouse=clickhouse,
        detectors=detectors,
        extra=extra,
        lines=lines,
        raw=top,
    )


def load_config(path: str | Path) -> Config:
    """Read and validate the config file at ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{p}: cannot read config: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not UTF-8 text: {e}") from None
    return parse_config(text, p)


# -- the rooms' sections ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A config section a room owns: its dotted ``path``, the dataclass ``schema`` of its keys and
    defaults (``None`` when the room validates the keys itself), and ``check``, the room's loader,
    which ``check_config`` calls to validate what a schema cannot (files, cross-references, secrets)."""

    path: str
    schema: type | None = None
    check: Callable[[Config], object] | None = None


_SECTIONS: dict[str, Section] = {}
_SECTIONS_TOP: set[tuple[str, ...]] = set()


def declare_section(
    path: str, schema: type | None = None, check: Callable[[Config], object] | None = None
) -> None:
    """Declare a room's section (``"store"``, ``"detectors.dga"``); rooms call it when imported.

    A new top-level name becomes valid at once; a section under ``detectors`` adds a valid detector.
    """
    _SECTIONS[path] = Section(path, schema, check)
    _SECTIONS_TOP.add(tuple(path.split("."))[:1])


def declared_sections() -> tuple[Section, ...]:
    return tuple(_SECTIONS[k] for k in sorted(_SECTIONS))


def check_config(config: Config) -> list[str]:
    """Validate every declared section of ``config`` (unknown keys at every level, values, and the
    rooms' own checks) and return the warnings of ``config_warnings``. Raises ``ConfigError``.

    Only the sections of rooms already imported are known: the CLI imports them all first."""
    r = config.reader()
    containers: dict[str, list[str]] = {}
    for path in _SECTIONS:
        head, _, child = path.partition(".")
        if child:
            containers.setdefault(head, []).append(child)
    for head, children in containers.items():
        raw = config.raw.get(head)
        if raw is not None:
            r.unknown(r.mapping(raw, (head,)), (head,), sorted(children))
    for decl in declared_sections():
        if decl.schema is not None and config.raw_section(decl.path) is not None:
            config.section(decl.path)
        if decl.check is not None:
            decl.check(config)
    return config_warnings(config)


def config_warnings(config: Config) -> list[str]:
    """What a valid config will not detect, one line each, Vietnamese then English."""
    out = []
    if not config.segments:
        out.append(
            f"{config.path.name}: chưa khai báo phân vùng mạng (segments): sẽ không có cảnh báo vi phạm"
            " phân vùng, mạng cách ly (airgap), OTT trong vùng lâm sàng, và cảnh báo không ghi phân vùng"
            " · no segments: segmentation, air-gap and clinical OTT policy alerts will not be raised,"
            " and alerts name no segment"
        )
    if not any(f.enabled for f in config.feeds):
        out.append(
            f"{config.path.name}: chưa khai báo nguồn tin mối đe dọa (feeds): sẽ không phát hiện tên miền"
            " và địa chỉ độc hại đã biết · no threat feeds: known malicious domains and addresses will"
            " not be detected"
        )
    return out
