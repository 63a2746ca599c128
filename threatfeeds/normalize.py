"""Turn a feed's raw text into an indicator, or into the reason it was rejected.

Pure functions. ``classify`` answers one of:

- ``("d", name)``: a domain; it matches itself and every subdomain,
- ``("h", name)``: a host taken from a URL; it matches that exact name only (a URL on a shared host such
  as a hosting platform must not flag the whole platform),
- ``("a", version, int)``: one IPv4/IPv6 address,
- ``("n", version, int, prefixlen)``: a CIDR range,
- ``("p", path)``: a host-less URL-path trail (``/panel/gate.php``, as Maltrail writes them),
- ``("r", pattern)``: a regex trail (``dga[0-9]+\\.example\\.com``, Maltrail's rule; see ``regexes``),
- ``("x", category)``: rejected, with the category it is counted under.

A URL (``http://evil.example/x``, ``evil.example/x``) classifies as its host; ``url_key`` gives the
URL indicator the index keeps beside it (host + path, see ``url_key``).

Safety rules: public suffixes and TLDs (``com``, ``gov.vn``), wildcards, ``localhost`` and friends,
non-global addresses (private, loopback, multicast…) and huge CIDRs never become indicators.
``reserved=True`` (a feed's ``allow_reserved`` option, for test and lab feeds) accepts the IANA
documentation, benchmarking and reserved blocks (``RESERVED_OK``), and only those: private, shared
(CGNAT), loopback, link-local, multicast and unspecified addresses stay refused, and so do huge CIDRs.

Path-only trails must name something specific: at least one segment, its file extension removed,
must be ``MIN_SEGMENT`` characters or longer and not a common web path word (``COMMON_SEGMENTS``).
``/malicious-login.php`` and ``/x8dk2/index.php`` qualify; ``/index.php``, ``/wp-admin/login.php``
and ``/gate.php`` do not (they are counted as ``url-path``), because a path trail matches on every
host and such paths are everywhere.
"""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_right
from urllib.parse import urlsplit

import idna

from wardwatch.segments import PRIVATE_V4

from . import regexes
from .suffixes import is_public_suffix, is_tld, rules

_PSL, _PSL_WILD, _PSL_EXC = rules()

# Reject categories, counted per feed.
EMPTY = "empty"
WILDCARD = "wildcard"
INVALID_DOMAIN = "invalid-domain"
INVALID_IDNA = "invalid-idna"
LOCALHOST = "localhost"
TLD = "tld"
SINGLE_LABEL = "single-label"
PUBLIC_SUFFIX = "public-suffix"
INVALID_IP = "invalid-ip"
NON_GLOBAL_IP = "non-global-ip"
HUGE_CIDR = "huge-cidr"
URL_PATH = "url-path"
INVALID_URL = "invalid-url"
UNSUPPORTED = "unsupported-type"
INVALID_REGEX = regexes.INVALID_REGEX
REGEX_COST = regexes.REGEX_COST
REGEX_BROAD = regexes.REGEX_BROAD

# Shorter prefixes than these cover too much of the Internet to be an indicator.
MIN_PREFIX = {4: 8, 6: 16}

_LOCAL_NAMES = frozenset(
    {
        "localhost",
        "localhost.localdomain",
        "local",
        "localdomain",
        "broadcasthost",
        "ip6-localhost",
        "ip6-loopback",
        "ip6-localnet",
        "ip6-mcastprefix",
        "ip6-allnodes",
        "ip6-allrouters",
        "ip6-allhosts",
    }
)
_LOCAL_SUFFIXES = (".localhost", ".localdomain")
# IPv4 documentation, benchmarking, IETF protocol and 6to4 relay blocks (see RESERVED_OK)
_V4_RESERVED = (
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
)
# IANA special-purpose IPv4 blocks (RFC 6890 and successors): never an indicator.
_V4_SPECIAL = sorted(
    (int(n.network_address), int(n.broadcast_address))
    for n in map(
        ipaddress.IPv4Network,
        (
            *PRIVATE_V4,
            *_V4_RESERVED,
            "224.0.0.0/3",
        ),
    )
)
_V4_SPECIAL_STARTS = [s for s, _ in _V4_SPECIAL]
# Special-purpose blocks a feed with ``allow_reserved`` may list: documentation (RFC 5737, 3849,
# 9637), benchmarking (RFC 2544, 5180), IETF protocol assignments, 6to4 relay anycast and the old
# class E. Never private, shared, loopback, link-local, multicast or unspecified space.
RESERVED_OK = tuple(
    ipaddress.ip_network(n)
    for n in (
        *_V4_RESERVED,
        "240.0.0.0/5",  # these four: 240.0.0.0/4 up to 254.255.255.255, far from the broadcast address
        "248.0.0.0/6",
        "252.0.0.0/7",
        "254.0.0.0/8",
        "2001:db8::/32",
        "3fff::/20",
        "2001:2::/48",
    )
)
# Labels of letters, digits, '-' and '_' (malware uses '_'); the last label needs a letter.
_DOMAIN_RE = re.compile(r"(?:[a-z0-9_-]{1,63}\.)+[a-z0-9-]{0,62}[a-z][a-z0-9-]{0,62}")
_V4_PORT_RE = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?")
_CIDR_RE = re.compile(r"[0-9a-fA-F:.]+/\d{1,3}")
_PORT_RE = re.compile(r":\d{1,5}")

# Path-only trails: the specificity rule (see the module doc).
MIN_SEGMENT = 5
COMMON_SEGMENTS = frozenset(
    [
        "index", "default", "home", "main", "login", "logout", "signin", "signup", "register", "admin",
        "administrator", "test", "tests", "config", "conf", "configuration", "settings", "setup", "install",
        "util", "utils", "auth", "panel", "update", "updates", "upload", "uploads", "download", "downloads",
        "posts", "pages", "callback", "files", "search", "users", "account", "accounts", "profile", "images",
        "image", "static", "assets", "script", "scripts", "style", "styles", "media", "content", "include",
        "includes", "plugin", "plugins", "themes", "theme", "public", "favicon", "robots", "sitemap",
        "cgi-bin", "wp-admin", "wp-login", "wp-content", "wp-includes", "wp-json", "xmlrpc", "readme",
        "license", "header", "footer", "ajax", "loading", "error", "errors", "status", "health", "version",
        "check", "submit", "contact", "about", "blog", "application", "portal", "dashboard", "client",
        "server", "service", "services", "delete", "phpinfo", "common", "library", "vendor", "system",
        "files", "modules", "module", "components", "manager", "console", "webmail", "forum", "github",
        "gitlab", "well-known",
    ]
)  # fmt: skip


def is_cidr(text: str) -> bool:
    """Is the text an address with a prefix length (``1.2.3.0/24``) rather than a URL?"""
    return _CIDR_RE.fullmatch(text.strip()) is not None


def to_ascii(name: str) -> str | None:
    """IDNA (UTS #46) encode a non-ASCII name, e.g. Vietnamese ``bệnhviện.vn`` → ``xn--...``."""
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        try:
            return name.encode("idna").decode("ascii")
        except UnicodeError:
            return None


def normalize_name(text: str) -> str:
    """Lower-case, no trailing/leading dot, punycode: how a name is stored and looked up.

    Returns "" for text that cannot be a name. No safety rules: this is for queries.
    """
    s = text.strip().lower()
    if s.endswith("."):
        s = s[:-1]
    if s.startswith("."):
        s = s[1:]
    if s and not s.isascii():
        s = to_ascii(s) or ""
    return s


def domain(text: str) -> tuple:
    """Classify a domain entry: ``("d", name)`` or ``("x", category)``."""
    s = text.lower()
    if _DOMAIN_RE.fullmatch(s) is not None:
        return _plain_domain(s)
    s = s.strip()
    if s.endswith("."):
        s = s[:-1]
    if s.startswith("."):
        s = s[1:]
    if not s:
        return ("x", EMPTY)
    if "*" in s:
        return ("x", WILDCARD)
    if not s.isascii():
        a = to_ascii(s)
        if a is None:
            return ("x", INVALID_IDNA)
        s = a
    if s in _LOCAL_NAMES or s.endswith(_LOCAL_SUFFIXES):
        return ("x", LOCALHOST)
    if "." not in s:
        return ("x", TLD if is_tld(s) else SINGLE_LABEL)
    if len(s) > 253 or not _DOMAIN_RE.fullmatch(s):
        return ("x", INVALID_DOMAIN)
    if is_public_suffix(s):
        return ("x", PUBLIC_SUFFIX)
    return ("d", s)


def _plain_domain(s: str) -> tuple:
    """The safety rules for a name that already matched ``_DOMAIN_RE`` (the common, fast case)."""
    if len(s) > 253:
        return ("x", INVALID_DOMAIN)
    if s.endswith(_LOCAL_SUFFIXES) or s in _LOCAL_NAMES:
        return ("x", LOCALHOST)
    if s in _PSL:
        return ("x", PUBLIC_SUFFIX)
    if s[s.find(".") + 1 :] in _PSL_WILD and s not in _PSL_EXC:
        return ("x", PUBLIC_SUFFIX)
    return ("d", s)


def _v4(text: str) -> int | None:
    """Dotted quad → int, faster than ``ipaddress`` for the millions of IPv4 entries feeds carry."""
    a, b, c, d = text.split(".")
    x, y, z, w = int(a), int(b), int(c), int(d)
    if x > 255 or y > 255 or z > 255 or w > 255 or any(len(p) > 1 and p[0] == "0" for p in (a, b, c, d)):
        return None
    return (x << 24) | (y << 16) | (z << 8) | w


def _v4_global(value: int) -> bool:
    k = bisect_right(_V4_SPECIAL_STARTS, value) - 1
    return not (k >= 0 and value <= _V4_SPECIAL[k][1])


def _reserved_ok(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    return any(net.version == ok.version and net.subnet_of(ok) for ok in RESERVED_OK)  # type: ignore[arg-type]


def address(text: str, strict: bool = True, reserved: bool = False) -> tuple:
    """Classify an IP address (``1.2.3.4``, ``1.2.3.4:443``, ``[2001:db8::1]:443``, ``2001:db8::1``)."""
    s = text.strip()
    m = _V4_PORT_RE.fullmatch(s)
    if m:
        v = _v4(m.group(1))
        if v is None:
            return ("x", INVALID_IP)
        if strict and not _v4_global(v) and not (reserved and _reserved_ok(ipaddress.IPv4Network(v))):
            return ("x", NON_GLOBAL_IP)
        return ("a", 4, v)
    if s.startswith("["):
        s = s[1:].split("]", 1)[0]
    try:
        ip = ipaddress.ip_address(s)
    except ValueError:
        return ("x", INVALID_IP)
    if strict and not ip.is_global and not (reserved and _reserved_ok(ipaddress.ip_network(ip))):
        return ("x", NON_GLOBAL_IP)
    return ("a", ip.version, int(ip))


def network(text: str, strict: bool = True, reserved: bool = False) -> tuple:
    """Classify a CIDR (``1.10.16.0/20``); a /32 or /128 is an address, host bits are cleared."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return ("x", INVALID_IP)
    if net.prefixlen == net.max_prefixlen:
        return address(str(net.network_address), strict, reserved)
    if net.prefixlen < MIN_PREFIX[net.version]:
        return ("x", HUGE_CIDR)
    if strict and not net.is_global and not (reserved and _reserved_ok(net)):
        return ("x", NON_GLOBAL_IP)
    return ("n", net.version, int(net.network_address), net.prefixlen)


def host(text: str, reserved: bool = False) -> tuple:
    """A host that came out of a URL: an address, or a name matched exactly (``("h", name)``)."""
    h = text.strip()
    if not h:
        return ("x", INVALID_URL)
    if h[0].isdigit() or h[0] in ":[":
        r = address(h, True, reserved)
        if r[0] == "a" or r[1] == NON_GLOBAL_IP:
            return r
    m = _PORT_RE.search(h)
    if m and m.end() == len(h):
        h = h[: m.start()]
    r = domain(h)
    return ("h", r[1]) if r[0] == "d" else r


def url(text: str, reserved: bool = False) -> tuple:
    """URL → its host (``http://evil.example:8080/x`` → ``("h", "evil.example")``)."""
    s = text.strip()
    if "://" not in s:
        s = "http://" + s
    try:
        parts = urlsplit(s)
        hostname = parts.hostname
    except ValueError:
        return ("x", INVALID_URL)
    if not hostname:
        return ("x", INVALID_URL)
    return host(hostname, reserved)


def _norm_host(h: str) -> str:
    """A URL's host as the URL index keys it: lower case, no port, no dot at the end, IDNA encoded,
    addresses in their canonical text."""
    h = h.strip().lower()
    if h.startswith("["):
        h = h[1:].split("]", 1)[0]
    elif h.count(":") == 1:
        h = h.split(":", 1)[0]
    h = h.rstrip(".")
    if h and (h[0].isdigit() or ":" in h):
        try:
            ip = ipaddress.ip_address(h)
        except ValueError:
            return normalize_name(h)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return str(ip)
    return normalize_name(h)


def norm_path(path: str) -> str:
    """A URL path (and query) as keyed: lower case, no fragment, no ``/`` before the query or end."""
    p = path.split("#", 1)[0].lower()
    p, q, query = p.partition("?")
    p = p.rstrip("/")
    return p + (q + query if query else "")


def url_key(text: str) -> str | None:
    """The URL indicator of a URL or ``host/path`` entry: ``host/path[?query]`` normalised (see
    ``_norm_host``, ``norm_path``); None when the entry names no path (the host indicator suffices)."""
    s = text.strip()
    if "://" in s:
        s = s.split("://", 1)[1]
    cut = min((i for i in (s.find("/"), s.find("?"), s.find("#")) if i >= 0), default=len(s))
    authority, rest = s[:cut], s[cut:]
    authority = authority.rsplit("@", 1)[-1]
    h = _norm_host(authority)
    if not h:
        return None
    if rest[:1] == "?":
        rest = "/" + rest
    path = norm_path(rest)
    if not path:
        return None
    return h + path


def request_url_keys(host: str, uri: str) -> tuple[str, list[str]]:
    """An HTTP request's normalised host and its path keys, most specific first: the path with its
    query, without it, then each parent folder (a listed folder covers what is under it)."""
    if "://" in uri[:12]:  # absolute-form request line (to a proxy): its host wins
        rest = uri.split("://", 1)[1]
        cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
        host, uri = rest[:cut].rsplit("@", 1)[-1], rest[cut:] or "/"
    h = _norm_host(host) if host else ""
    full = norm_path(uri)
    keys = [full] if full else []
    path = full.split("?", 1)[0]
    depth = 0
    while path and depth < 12:
        if path != keys[-1]:
            keys.append(path)
        path = path[: path.rfind("/")]
        depth += 1
    return h, keys


def path_trail(text: str) -> tuple:
    """A host-less path trail: ``("p", path)`` when it is specific enough (module doc), else rejected."""
    key = norm_path(text)
    for seg in key.split("?", 1)[0].split("/"):
        seg = seg.lstrip(".")
        stem = seg.rsplit(".", 1)[0] if "." in seg else seg
        if len(stem) >= MIN_SEGMENT and stem not in COMMON_SEGMENTS:
            return ("p", key)
    return ("x", URL_PATH)


def classify(text: str, hint: str | None = None, strict: bool = True, reserved: bool = False) -> tuple:
    """Classify any entry; ``hint`` is what the format says the entry is, when it says so.

    ``strict=False`` (allow-lists) accepts private and other non-global addresses; ``reserved=True``
    accepts only the documentation/benchmarking/reserved blocks of ``RESERVED_OK`` besides global ones.
    """
    s = text.strip()
    if not s:
        return ("x", EMPTY)
    if hint == "domain":
        return domain(s)
    if hint is None:
        low = s.lower()
        if _DOMAIN_RE.fullmatch(low) is not None:
            return _plain_domain(low)
    if hint == "ip":
        return network(s, strict, reserved) if "/" in s else address(s, strict, reserved)
    if hint == "cidr":
        return network(s, strict, reserved)
    if hint == "unsupported":
        return ("x", UNSUPPORTED)
    if hint == "url":
        return url(s, reserved)
    if "://" in s:
        return url(s, reserved)
    if s[0] == "/":
        return path_trail(s)
    if "/" in s:
        if _CIDR_RE.fullmatch(s):
            return network(s, strict, reserved)
        return url(s, reserved)  # host/path without a scheme, as Maltrail and Zeek Intel::URL write them
    if regexes.looks_like_regex(s):
        bad = regexes.check(s)
        return ("x", bad) if bad else ("r", s)
    if s[0].isdigit() or s[0] in ":[":
        r = address(s, strict, reserved)
        if r[0] == "a" or r[1] == NON_GLOBAL_IP:
            return r
    m = _PORT_RE.search(s)
    if m and m.end() == len(s) and "::" not in s:
        s = s[: m.start()]
    return domain(s)
