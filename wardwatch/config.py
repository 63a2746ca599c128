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
    detectors: {dga: {...}, ...}        # kept as raw dicts for the detectors to validate

Allow-list entries: a plain string is matched with its subdomains (``match: suffix``); a list loaded from
a file or URL is matched exactly (``match: exact``) unless it says otherwise, because lists such as the
MISP top-10k or dynamic-DNS warning lists name platforms whose subdomains are often malicious. File and
URL allow-lists are fetched, validated and snapshotted like feeds (``kind: allow``).

Unknown top-level sections are kept raw in ``Config.extra`` (later issues add theirs); ``Config.error``
makes a line-numbered ``ConfigError`` for any key path, so they can report errors the same way.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

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
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?")
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?", re.IGNORECASE)
_SIZES = {"b": 1, "kb": 1000, "kib": 1024, "mb": 10**6, "mib": 1 << 20, "gb": 10**9, "gib": 1 << 30}
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}

KeyPath = tuple[str | int, ...]


class ConfigError(ValueError):
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
    min_valid: float = 0.5
    url_hosts: str = "exact"
    allow_reserved: bool = False  # accept documentation/benchmarking address blocks (test feeds)
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

    def where(self, keypath: KeyPath) -> str:
        return _where(self.path, self.lines, keypath)

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


class _Reader:
    """Validation helpers that know where each key path is in the file."""

    def __init__(self, path: Path, lines: dict[KeyPath, int]) -> None:
        self.path = path
        self.base = path.parent
        self.lines = lines

    def error(self, keypath: KeyPath, message: str) -> ConfigError:
        return ConfigError(f"{_where(self.path, self.lines, keypath)}: {_dotted(keypath)}: {message}")

    def mapping(self, value: Any, kp: KeyPath) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(kp, f"expected a mapping, got {_kind(value)}")
        return value

    def seq(self, value: Any, kp: KeyPath) -> list[Any]:
        if value is None:
            return []
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
            raise self.error(kp, f"expected a number from {lo:g} to {hi:g}, got {value!r}")
        return float(value)

    def integer(self, value: Any, kp: KeyPath, lo: int, hi: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.error(kp, f"expected an integer from {lo} to {hi}, got {value!r}")
        return value

    def boolean(self, value: Any, kp: KeyPath) -> bool:
        if not isinstance(value, bool):
            raise self.error(kp, f"expected true or false, got {value!r}")
        return value

    def duration(self, value: Any, kp: KeyPath) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return float(value)
        m = _DURATION_RE.fullmatch(str(value).strip()) if isinstance(value, str) else None
        if m is None:
            raise self.error(kp, f"expected a duration such as 30s, 15m, 6h or 1d, got {value!r}")
        return float(m.group(1)) * _SECONDS[m.group(2) or "s"]

    def size(self, value: Any, kp: KeyPath) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        m = _SIZE_RE.fullmatch(str(value).strip()) if isinstance(value, str) else None
        if m is None:
            raise self.error(kp, f"expected a size such as 256MB or 10MiB, got {value!r}")
        return int(float(m.group(1)) * _SIZES[(m.group(2) or "b").lower()])

    def path_value(self, value: Any, kp: KeyPath) -> Path:
        p = Path(self.string(value, kp)).expanduser()
        return p if p.is_absolute() else (self.base / p).resolve()

    def unknown(self, data: dict[str, Any], kp: KeyPath, known: tuple[str, ...]) -> None:
        for key in data:
            if key not in known:
                raise self.error((*kp, key), f"unknown key (expected one of {', '.join(known)})")


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
    "min_valid",
    "url_hosts",
    "allow_reserved",
    "match",
    "enabled",
)


def _feed(r: _Reader, raw: Any, kp: KeyPath, kind: str, default_name: str | None = None) -> FeedConfig:
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
        min_valid=r.number(d.get("min_valid", 0.5), (*kp, "min_valid"), 0, 1),
        url_hosts=r.choice(d.get("url_hosts", "exact"), (*kp, "url_hosts"), ("exact", "suffix")),
        allow_reserved=r.boolean(d.get("allow_reserved", False), (*kp, "allow_reserved")),
        match=r.choice(d.get("match", default_match), (*kp, "match"), ("exact", "suffix")),
        enabled=r.boolean(d.get("enabled", True), (*kp, "enabled")),
    )


def _segment(r: _Reader, raw: Any, kp: KeyPath) -> Segment:
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


def _allowlist(r: _Reader, raw: Any, kp: KeyPath, feed_names: set[str]) -> Allowlist:
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


def _options(r: _Reader, raw: Any, kp: KeyPath, required: str) -> tuple[str, dict[str, Any]]:
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
    r = _Reader(path, lines)
    if data is None:
        data = {}
    top = r.mapping(data, ())

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

    known = ("data_dir", "segments", "feeds", "allowlist", "kafka", "clickhouse", "detectors")
    extra = {k: v for k, v in top.items() if k not in known}
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
