"""Tunnel headers: GRE (with ERSPAN I/II/III and PPTP), VXLAN, Geneve, Teredo.

Each parser looks at the encapsulation header at ``data[off:end]`` and returns one of:
``(ethertype, inner_offset)`` — decapsulate, ``ethertype`` is an Ethernet type or ``ETH_FRAME``;
a string — the header is malformed (counted as ``malformed.<string>``, packet dropped);
``None`` — not something we decapsulate (the outer packet becomes the row).
"""

from __future__ import annotations

from .constants import (
    ETH_ERSPAN_1_2,
    ETH_ERSPAN_3,
    ETH_FRAME,
    ETH_IPV4,
    ETH_IPV6,
    ETH_MPLS,
    ETH_NOT_IP,
    ETH_PPP_GRE,
    ETH_RAW_IP,
    ETH_TRANSPARENT,
    PPP_PROTOCOLS,
)

Decap = tuple[int, int] | str | None

_GRE_C, _GRE_R, _GRE_K, _GRE_S = 0x80, 0x40, 0x20, 0x10
_GRE_ACK = 0x80  # PPTP's acknowledgment bit, in the second byte


def parse_gre(data: bytes, off: int, end: int) -> tuple[Decap, bool]:
    """GRE header → (decapsulation, is_erspan)."""
    if end - off < 4:
        return "gre_truncated", False
    flags, version = data[off], data[off + 1] & 0x07
    proto = (data[off + 2] << 8) | data[off + 3]
    pos = off + 4
    if version == 1:
        return _parse_pptp(data, off, end, flags, proto), False
    if version != 0 or flags & _GRE_R:  # RFC 1701 source routing is obsolete: leave it alone
        return None, False
    pos += 4 * (bool(flags & _GRE_C) + bool(flags & _GRE_K) + bool(flags & _GRE_S))
    if pos > end:
        return "gre_truncated", False
    if proto == ETH_ERSPAN_1_2:
        # Type I has no sequence number and no header; type II has both (8-byte header).
        if flags & _GRE_S:
            pos += 8
        return ((ETH_FRAME, pos) if pos <= end else "erspan_truncated"), True
    if proto == ETH_ERSPAN_3:
        if end - pos < 12:
            return "erspan_truncated", True
        frame_type = (data[pos + 10] >> 2) & 0x1F
        optional = data[pos + 11] & 0x01  # O bit: an 8-byte platform-specific subheader follows
        pos += 12 + 8 * optional
        if pos > end:
            return "erspan_truncated", True
        return (ETH_FRAME if frame_type == 0 else ETH_RAW_IP, pos), True
    if proto == ETH_TRANSPARENT:
        return (ETH_FRAME, pos), False
    if proto in (ETH_IPV4, ETH_IPV6) or proto in ETH_MPLS:
        return (proto, pos), False
    return None, False  # keepalives, WCCP, …: the GRE packet itself is the row


def _parse_pptp(data: bytes, off: int, end: int, flags: int, proto: int) -> Decap:
    """Enhanced GRE (RFC 2637): key present, optional sequence and acknowledgment, PPP inside."""
    if proto != ETH_PPP_GRE or not flags & _GRE_K:
        return None
    pos = off + 8 + 4 * bool(flags & _GRE_S) + 4 * bool(data[off + 1] & _GRE_ACK)
    if end - pos < 1:
        return "gre_truncated" if pos > end else None  # an acknowledgment without payload
    if end - pos >= 2 and data[pos] == 0xFF and data[pos + 1] == 0x03:
        pos += 2
    if end - pos < 1:
        return "ppp_truncated"
    if data[pos] & 0x01:
        return (PPP_PROTOCOLS.get(data[pos], ETH_NOT_IP), pos + 1)
    if end - pos < 2:
        return "ppp_truncated"
    return (PPP_PROTOCOLS.get((data[pos] << 8) | data[pos + 1], ETH_NOT_IP), pos + 2)


def parse_vxlan(data: bytes, off: int, end: int) -> Decap:
    if end - off < 8 or not data[off] & 0x08:  # the I flag says a VNI is present
        return None
    return (ETH_FRAME, off + 8)


def parse_geneve(data: bytes, off: int, end: int) -> Decap:
    if end - off < 8 or data[off] >> 6 != 0:
        return None
    pos = off + 8 + 4 * (data[off] & 0x3F)
    if pos > end:
        return "geneve_truncated"
    proto = (data[off + 2] << 8) | data[off + 3]
    return (ETH_FRAME if proto == ETH_TRANSPARENT else proto, pos)


def parse_teredo(data: bytes, off: int, end: int) -> Decap:
    """RFC 4380: optional authentication, optional origin indication, then an IPv6 packet."""
    pos = off
    if end - pos >= 4 and data[pos] == 0 and data[pos + 1] == 1:
        pos += 4 + data[pos + 2] + data[pos + 3] + 8 + 1  # ids, auth value, nonce, confirmation
    if end - pos >= 8 and data[pos] == 0 and data[pos + 1] == 0:
        pos += 8
    # Only a plausible IPv6 header makes it Teredo; anything else on the port stays plain UDP.
    if end - pos < 40 or data[pos] >> 4 != 6:
        return None
    return (ETH_IPV6, pos)
