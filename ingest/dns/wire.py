"""DNS wire-format decoder: header, all four sections, name compression, EDNS0 and common rdata.

Our own decoder because dnspython's ``from_wire`` manages about 33k messages/s here, far below what
the sensor needs; dnspython stays the oracle in the tests. ``decode_message`` is the C twin in
``_dnswire.c`` when it is built (about 3.4× faster on a DNS flood), else ``decode_message_py`` below;
``WARDWATCH_DNS_PYTHON=1`` forces the latter, and tests/unit/test_dns_native.py checks they agree.

Decoding never raises out of :func:`decode_message`: a malformed message comes back with
``error`` set to a short reason and every section that decoded before the fault, so that the
tracker can still pair its header the way Zeek does.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass, field
from types import ModuleType
from typing import Protocol

from wardwatch.ingest.native import load

from wardwatch.errors import WardwatchError

from . import consts as c

MAX_NAME_TEXT = 512  # Zeek's name buffer; longer names are refused (tunnels stay well below it)
MAX_POINTER_HOPS = 64
MAX_QUESTIONS = 25  # Zeek's dns_max_queries: more than this is not DNS (a protocol violation)

_HEADER = struct.Struct("!6H")
_RR_FIXED = struct.Struct("!HHIH")
_Q_FIXED = struct.Struct("!HH")
_H = struct.Struct("!H")
_HHH = struct.Struct("!HHH")
_SOA_NUMS = struct.Struct("!5I")
_RRSIG_FIXED = struct.Struct("!HBBIIIH")
_inet_ntoa = socket.inet_ntoa
_inet_ntop = socket.inet_ntop
_AF_INET6 = socket.AF_INET6
_V4_MAPPED = b"\x00" * 10 + b"\xff\xff"


class DnsError(WardwatchError):
    """A malformed message; ``args[0]`` is the reason counted under ``malformed.dns.<reason>``."""


@dataclass(slots=True)
class Question:
    name: str  # lower-cased, no trailing dot, root is ""
    qtype: int
    qclass: int


@dataclass(slots=True)
class ResourceRecord:
    name: str  # owner name, lower-cased
    rtype: int
    rclass: int
    ttl: int
    # Parsed rdata: str for A/AAAA/NS/CNAME/PTR; (preference, exchange) for MX; tuple of bytes for
    # TXT/SPF; (mname, rname, serial, refresh, retry, expire, minimum) for SOA; (priority, weight,
    # port, target) for SRV; (priority, target, ((key, value), ...)) for SVCB/HTTPS;
    # (type_covered, signer) for RRSIG; (algorithm, digest_type) for DS; algorithm for DNSKEY;
    # next name for NSEC; (size, horiz_pre, vert_pre) for LOC; (algo, fptype, fingerprint) for SSHFP;
    # raw bytes for NULL and every other type.
    data: object


@dataclass(slots=True)
class Edns:
    udp_size: int
    ext_rcode: int
    version: int
    do: bool
    options: tuple[tuple[int, bytes], ...]


@dataclass(slots=True)
class Message:
    id: int
    flags: int
    qdcount: int
    ancount: int
    nscount: int
    arcount: int
    questions: list[Question] = field(default_factory=list)
    answers: list[ResourceRecord] = field(default_factory=list)
    authority: list[ResourceRecord] = field(default_factory=list)
    additional: list[ResourceRecord] = field(default_factory=list)
    edns: Edns | None = None
    error: str | None = None  # reason when the message is malformed
    error_section: int = 0  # 0 = complete; else 1 question, 2 answer, 3 authority, 4 additional

    @property
    def qr(self) -> bool:
        return bool(self.flags & 0x8000)

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF

    @property
    def aa(self) -> bool:
        return bool(self.flags & 0x0400)

    @property
    def tc(self) -> bool:
        return bool(self.flags & 0x0200)

    @property
    def rd(self) -> bool:
        return bool(self.flags & 0x0100)

    @property
    def ra(self) -> bool:
        return bool(self.flags & 0x0080)

    @property
    def z(self) -> int:
        """The three bits Zeek logs as Z (the reserved bit plus AD and CD)."""
        return (self.flags >> 4) & 0x7

    @property
    def rcode(self) -> int:
        return self.flags & 0xF


def name_text(raw: bytes) -> str:
    """Lower-cased wire name bytes to text; bytes outside printable ASCII become \\xNN as Zeek logs them."""
    text = raw.lower().decode("latin-1")
    if text.isascii() and text.isprintable():
        return text
    return "".join(ch if " " <= ch <= "~" else f"\\x{ord(ch):02x}" for ch in text)


def bytes_text(raw: bytes) -> str:
    """Character-string bytes to text (case kept), escaping what is not printable ASCII."""
    text = raw.decode("latin-1")
    if text.isascii() and text.isprintable():
        return text
    return "".join(ch if " " <= ch <= "~" else f"\\x{ord(ch):02x}" for ch in text)


def read_name(
    buf: bytes, pos: int, end: int, cache: dict[int, tuple[str, int]] | None = None
) -> tuple[str, int]:
    """Decode the (possibly compressed) name at ``pos``; return (text, offset just after it).

    Compression pointers must point strictly backwards, and after a jump the labels read must stay
    below the pointer that was followed (as Zeek bounds it), so every hop shrinks the readable
    window and loops are impossible; the hop count is capped as well. ``cache`` (per message) maps
    a name's start offset to (text, end of its first segment), so the usual pointer to the question
    name is decoded once.
    """
    start = pos
    if cache is not None and pos + 1 < end and buf[pos] >= 0xC0:
        hit = cache.get(((buf[pos] & 0x3F) << 8) | buf[pos + 1])
        if hit is not None and hit[1] <= pos:
            return hit[0], pos + 2
    # Fast path: an uncompressed name within bounds, looked up by its wire bytes (hospital traffic
    # repeats names); anything else, including every fault, takes the general loop below.
    p = pos
    while p < end:
        n = buf[p]
        if n == 0:
            p += 1
            if p - pos > MAX_NAME_TEXT + 1:
                break
            raw = buf[pos:p]
            text = _NAMES.get(raw)
            if text is None:
                text = _name_text_slow(buf, pos, p)
                if len(_NAMES) >= _NAMES_MAX:
                    _NAMES.clear()
                _NAMES[raw] = text
            if cache is not None:
                cache[start] = (text, p)
            return text, p
        if n > 63:
            break
        p += n + 1
    labels: list[bytes] = []
    after = -1
    hops = 0
    total = 0
    limit = end
    while True:
        if pos >= limit:
            raise DnsError("name_truncated")
        n = buf[pos]
        if n == 0:
            pos += 1
            break
        if n >= 0xC0:
            if pos + 1 >= limit:
                raise DnsError("name_truncated")
            target = ((n & 0x3F) << 8) | buf[pos + 1]
            if after < 0:
                after = pos + 2
            if target >= pos:
                raise DnsError("name_forward_pointer")
            hops += 1
            if hops > MAX_POINTER_HOPS:
                raise DnsError("name_pointer_loop")
            limit = pos
            pos = target
            continue
        if n > 63:
            raise DnsError("name_bad_label")
        pos += 1
        stop = pos + n
        if stop > limit:
            raise DnsError("name_truncated")
        total += n + 1
        if total > MAX_NAME_TEXT:
            raise DnsError("name_too_long")
        labels.append(buf[pos:stop])
        pos = stop
    if after < 0:
        after = pos
    text = name_text(b".".join(labels)) if labels else ""
    if cache is not None:
        cache[start] = (text, after)
    return text, after


_NAMES: dict[bytes, str] = {}  # uncompressed wire name -> text, shared by all messages
_NAMES_MAX = 100_000


def _name_text_slow(buf: bytes, pos: int, stop: int) -> str:
    """Text of the uncompressed, well-formed name buf[pos:stop] (ends with the root label)."""
    labels = []
    while True:
        n = buf[pos]
        if n == 0:
            break
        labels.append(buf[pos + 1 : pos + 1 + n])
        pos += n + 1
    return name_text(b".".join(labels)) if labels else ""


def _character_strings(buf: bytes, pos: int, end: int) -> tuple[bytes, ...]:
    out = []
    while pos < end:
        n = buf[pos]
        pos += 1
        if pos + n > end:
            raise DnsError("rdata_txt_truncated")
        out.append(buf[pos : pos + n])
        pos += n
    return tuple(out)


def _rdata(buf: bytes, rtype: int, pos: int, end: int, cache: dict[int, tuple[str, int]]) -> object:
    """Parse rdata in buf[pos:end]; names may point anywhere earlier in the message."""
    if rtype == c.A:
        if end - pos != 4:
            raise DnsError("rdata_a_length")
        return _inet_ntoa(buf[pos:end])
    if rtype == c.AAAA:
        if end - pos != 16:
            raise DnsError("rdata_aaaa_length")
        raw = buf[pos:end]
        if raw[:12] == _V4_MAPPED:  # Zeek stores v4-mapped addresses as IPv4 and prints them so
            return _inet_ntoa(raw[12:])
        return _inet_ntop(_AF_INET6, raw)
    if rtype == c.CNAME or rtype == c.NS or rtype == c.PTR:
        return read_name(buf, pos, end, cache)[0]
    if rtype == c.MX:
        if end - pos < 3:
            raise DnsError("rdata_mx_truncated")
        return (_H.unpack_from(buf, pos)[0], read_name(buf, pos + 2, end, cache)[0])
    if rtype == c.TXT or rtype == c.SPF:
        return _character_strings(buf, pos, end)
    if rtype == c.SOA:
        mname, p = read_name(buf, pos, end, cache)
        rname, p = read_name(buf, p, end, cache)
        if end - p < 20:
            raise DnsError("rdata_soa_truncated")
        return (mname, rname, *_SOA_NUMS.unpack_from(buf, p))
    if rtype == c.SRV:
        if end - pos < 7:
            raise DnsError("rdata_srv_truncated")
        prio, weight, port = _HHH.unpack_from(buf, pos)
        return (prio, weight, port, read_name(buf, pos + 6, end, cache)[0])
    if rtype == c.HTTPS or rtype == c.SVCB:
        return _svcb(buf, pos, end, cache)
    if rtype == c.RRSIG:
        if end - pos < 19:
            raise DnsError("rdata_rrsig_truncated")
        return (_H.unpack_from(buf, pos)[0], read_name(buf, pos + 18, end, cache)[0])
    if rtype == c.DS:
        if end - pos < 4:
            raise DnsError("rdata_ds_truncated")
        return (buf[pos + 2], buf[pos + 3])
    if rtype == c.DNSKEY:
        if end - pos < 4:
            raise DnsError("rdata_dnskey_truncated")
        return buf[pos + 3]
    if rtype == c.NSEC:
        return read_name(buf, pos, end, cache)[0]
    if rtype == c.SSHFP:
        if end - pos < 2:
            raise DnsError("rdata_sshfp_truncated")
        return (buf[pos], buf[pos + 1], buf[pos + 2 : end])
    if rtype == c.LOC:
        if end - pos < 16:
            raise DnsError("rdata_loc_truncated")
        return (buf[pos + 1], buf[pos + 2], buf[pos + 3])
    return buf[pos:end]


def _svcb(
    buf: bytes, pos: int, end: int, cache: dict[int, tuple[str, int]]
) -> tuple[int, str, tuple[tuple[int, bytes], ...]]:
    if end - pos < 3:
        raise DnsError("rdata_svcb_truncated")
    prio = _H.unpack_from(buf, pos)[0]
    target, p = read_name(buf, pos + 2, end, cache)
    params = []
    while p < end:
        if end - p < 4:
            raise DnsError("rdata_svcb_param_truncated")
        key, n = struct.unpack_from("!HH", buf, p)
        p += 4
        if p + n > end:
            raise DnsError("rdata_svcb_param_truncated")
        params.append((key, buf[p : p + n]))
        p += n
    return (prio, target, tuple(params))


def _edns(rr_name: str, rclass: int, ttl: int, raw: bytes) -> Edns:
    options = []
    p, end = 0, len(raw)
    while p < end:
        if end - p < 4:
            raise DnsError("edns_option_truncated")
        code, n = struct.unpack_from("!HH", raw, p)
        p += 4
        if p + n > end:
            raise DnsError("edns_option_truncated")
        options.append((code, raw[p : p + n]))
        p += n
    return Edns(rclass, ttl >> 24, (ttl >> 16) & 0xFF, bool(ttl & 0x8000), tuple(options))


def _records(
    buf: bytes, pos: int, end: int, count: int, out: list[ResourceRecord], cache: dict[int, tuple[str, int]]
) -> int:
    if not count:
        return pos
    unpack = _RR_FIXED.unpack_from
    for _ in range(count):
        name, pos = read_name(buf, pos, end, cache)
        if end - pos < 10:
            raise DnsError("rr_truncated")
        rtype, rclass, ttl, rdlen = unpack(buf, pos)
        pos += 10
        stop = pos + rdlen
        if stop > end:
            raise DnsError("rdata_truncated")
        out.append(ResourceRecord(name, rtype, rclass, ttl, _rdata(buf, rtype, pos, stop, cache)))
        pos = stop
    return pos


def decode_message_py(buf: bytes, sections: int = 3) -> Message | None:
    """Decode one DNS message; None when it is shorter than a header.

    ``sections`` limits the work: 1 = header and questions, 2 = also answers, 3 = everything.
    """
    if len(buf) < 12:
        return None
    ident, flags, qd, an, ns, ar = _HEADER.unpack_from(buf, 0)
    msg = Message(ident, flags, qd, an, ns, ar)
    end = len(buf)
    section = 1
    cache: dict[int, tuple[str, int]] = {}
    try:
        if qd > MAX_QUESTIONS:
            raise DnsError("too_many_questions")
        pos = 12
        questions = msg.questions
        for _ in range(qd):
            name, pos = read_name(buf, pos, end, cache)
            if end - pos < 4:
                raise DnsError("question_truncated")
            qtype, qclass = _Q_FIXED.unpack_from(buf, pos)
            pos += 4
            questions.append(Question(name, qtype, qclass))
        if sections < 2:
            return msg
        section = 2
        if an:
            pos = _records(buf, pos, end, an, msg.answers, cache)
        if sections < 3:
            return msg
        section = 3
        if ns:
            pos = _records(buf, pos, end, ns, msg.authority, cache)
        if ar:
            section = 4
            pos = _records(buf, pos, end, ar, msg.additional, cache)
            for rr in msg.additional:
                if rr.rtype == c.OPT and isinstance(rr.data, bytes):
                    msg.edns = _edns(rr.name, rr.rclass, rr.ttl, rr.data)
                    break
    except DnsError as exc:
        msg.error = str(exc.args[0])
        msg.error_section = section
    except (IndexError, struct.error):  # defence in depth: bounds are checked above
        msg.error = "bounds"
        msg.error_section = section
    return msg


class _Decode(Protocol):
    def __call__(self, buf: bytes, sections: int = 3) -> Message | None: ...


def _native_decoder() -> ModuleType | None:
    """_dnswire.c (the same messages, faults and partial sections as decode_message_py, several times
    faster: docs/PERFORMANCE.md), bound to the classes above; None when it is not built, when
    WARDWATCH_DNS_PYTHON=1 asks for the Python decoder, or when it refuses the classes' layout."""
    if os.environ.get("WARDWATCH_DNS_PYTHON") == "1":
        return None
    native = load(__package__, "_dnswire")
    if native is None:  # pragma: no cover - depends on the build
        return None
    try:
        native.bind(Message, Question, ResourceRecord, Edns)
    except TypeError:  # pragma: no cover - a class no longer has plain object slots
        return None
    return native


_native = _native_decoder()
NATIVE = _native is not None  # which decoder decode_message is (the tests compare the two)
decode_message: _Decode = _native.decode if _native is not None else decode_message_py
