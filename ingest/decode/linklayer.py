"""Link-layer headers: from a frame's start to its network-layer header.

Each function returns ``(ethertype, offset, vlan)`` — the ethertype (or an ``ETH_*`` pseudo value)
of what starts at ``offset``, and the outermost 802.1Q VLAN id seen (-1 if none) — or a string
naming why the header is malformed. Pure functions over ``data[off:end]``.
"""

from __future__ import annotations

from .constants import (
    AF_INET,
    AF_INET6,
    ETH_FABRICPATH,
    ETH_IPV4,
    ETH_IPV6,
    ETH_MPLS,
    ETH_NOT_IP,
    ETH_PPPOE_SESSION,
    ETH_RAW_IP,
    ETH_VLAN_TPIDS,
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_PPP,
    LINKTYPE_PPP_HDLC,
    LINKTYPE_RAW,
    LINKTYPE_RAW_BSD,
    LINKTYPE_RAW_OPENBSD,
    PPP_PROTOCOLS,
)

L2 = tuple[int, int, int] | str

UNSUPPORTED = "unsupported_linktype"
_MAX_TAGS = 16  # VLAN tags / MPLS labels walked before giving up


def decode_link(data: bytes, off: int, end: int, linktype: int) -> L2:
    """Dispatch on the LINKTYPE_* of the frame."""
    if linktype == LINKTYPE_ETHERNET:
        return decode_ethernet(data, off, end, -1)
    if linktype in (LINKTYPE_RAW, LINKTYPE_RAW_OPENBSD, LINKTYPE_RAW_BSD):
        return (ETH_RAW_IP, off, -1)
    if linktype == LINKTYPE_IPV4:
        return (ETH_IPV4, off, -1)
    if linktype == LINKTYPE_IPV6:
        return (ETH_IPV6, off, -1)
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        return _decode_null(data, off, end)
    if linktype == LINKTYPE_LINUX_SLL:
        if end - off < 16:
            return "sll_truncated"
        return after_ethertype(data, off + 16, end, (data[off + 14] << 8) | data[off + 15], -1)
    if linktype == LINKTYPE_LINUX_SLL2:
        if end - off < 20:
            return "sll2_truncated"
        return after_ethertype(data, off + 20, end, (data[off] << 8) | data[off + 1], -1)
    if linktype in (LINKTYPE_PPP, LINKTYPE_PPP_HDLC):
        return decode_ppp(data, off, end, -1)
    return UNSUPPORTED


def decode_ethernet(data: bytes, off: int, end: int, vlan: int) -> L2:
    if end - off < 14:
        return "ethernet_truncated"
    return after_ethertype(data, off + 14, end, (data[off + 12] << 8) | data[off + 13], vlan)


def after_ethertype(data: bytes, off: int, end: int, ethertype: int, vlan: int) -> L2:
    """Walk VLAN tags (802.1Q, 802.1ad, QinQ), LLC/SNAP, PPPoE session, MPLS and FabricPath to the payload."""
    for _ in range(_MAX_TAGS):
        if ethertype in ETH_VLAN_TPIDS:
            if end - off < 4:
                return "vlan_truncated"
            if vlan < 0:
                vlan = ((data[off] & 0x0F) << 8) | data[off + 1]
            ethertype = (data[off + 2] << 8) | data[off + 3]
            off += 4
        elif ethertype <= 1500:  # 802.3 length: LLC, IP only behind a SNAP header with OUI 0
            if end - off >= 8 and data[off : off + 6] == b"\xaa\xaa\x03\x00\x00\x00":
                ethertype = (data[off + 6] << 8) | data[off + 7]
                off += 8
            else:
                return (ETH_NOT_IP, off, vlan)
        elif ethertype == ETH_PPPOE_SESSION:
            if end - off < 8:
                return "pppoe_truncated"
            proto = (data[off + 6] << 8) | data[off + 7]
            return (PPP_PROTOCOLS.get(proto, ETH_NOT_IP), off + 8, vlan)
        elif ethertype in ETH_MPLS:
            return _decode_mpls(data, off, end, vlan)
        elif ethertype == ETH_FABRICPATH:
            # Cisco FabricPath (as Zeek's FabricPath packet analyser): the tag's second half (FTag,
            # TTL), then the classic Ethernet frame it carries, MAC addresses and all
            if end - off < 2 + 14:
                return "fabricpath_truncated"
            ethertype = (data[off + 14] << 8) | data[off + 15]
            off += 16
        else:
            return (ethertype, off, vlan)
    return "vlan_depth"


def _decode_mpls(data: bytes, off: int, end: int, vlan: int) -> L2:
    for _ in range(_MAX_TAGS):
        if end - off < 4:
            return "mpls_truncated"
        bottom = data[off + 2] & 0x01
        off += 4
        if bottom:
            # No protocol field: the payload's first nibble tells IPv4/IPv6 (pseudowires are not IP).
            if off < end and data[off] >> 4 in (4, 6):
                return (ETH_RAW_IP, off, vlan)
            return (ETH_NOT_IP, off, vlan)
    return "mpls_depth"


def _decode_null(data: bytes, off: int, end: int) -> L2:
    if end - off < 4:
        return "null_truncated"
    # NULL is in the capturing host's byte order, LOOP in network order; accept both for both.
    family = int.from_bytes(data[off : off + 4], "little")
    if family > 0xFFFF:
        family = int.from_bytes(data[off : off + 4], "big")
    if family == AF_INET:
        return (ETH_IPV4, off + 4, -1)
    if family in AF_INET6:
        return (ETH_IPV6, off + 4, -1)
    return (ETH_NOT_IP, off + 4, -1)


def decode_ppp(data: bytes, off: int, end: int, vlan: int) -> L2:
    """PPP with or without HDLC address/control bytes, protocol field compressed or not."""
    if end - off >= 2 and data[off] == 0xFF and data[off + 1] == 0x03:
        off += 2
    if end - off < 1:
        return "ppp_truncated"
    if data[off] & 0x01:  # protocol-field compression: a one-byte protocol
        return (PPP_PROTOCOLS.get(data[off], ETH_NOT_IP), off + 1, vlan)
    if end - off < 2:
        return "ppp_truncated"
    return (PPP_PROTOCOLS.get((data[off] << 8) | data[off + 1], ETH_NOT_IP), off + 2, vlan)
