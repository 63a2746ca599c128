"""Per-packet decoding of everything the fast path leaves: odd link layers, IP options and
extension headers, fragments, tunnels, truncated and malformed frames.

Our own decoder rather than scapy/dpkt: those build an object per layer and are 10-100× slower.
Every check is explicit; a malformed header is counted as ``malformed.<reason>`` and dropped. A
transport header that is merely cut short keeps its row (see ``_short_tcp``). The UDP packet of a
VXLAN, Geneve or Teredo tunnel also gives a row of its own (``SlowPath.outer``), as the fast path's.
"""

from __future__ import annotations

import struct

from wardwatch.counters import Counters

from .columns import (
    TUNNEL_ERSPAN,
    TUNNEL_GENEVE,
    TUNNEL_GRE,
    TUNNEL_IPIP,
    TUNNEL_NONE,
    TUNNEL_TEREDO,
    TUNNEL_VXLAN,
    V4_MAPPED_LO_PREFIX,
)
from .config import DecodeConfig
from .constants import (
    ETH_FRAME,
    ETH_IPV4,
    ETH_IPV6,
    ETH_NOT_IP,
    ETH_RAW_IP,
    IPPROTO_AH,
    IPPROTO_FRAGMENT,
    IPPROTO_GRE,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_IPIP,
    IPPROTO_IPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    IPV6_EXT_8,
)
from .linklayer import L2, UNSUPPORTED, after_ethertype, decode_ethernet, decode_link
from .reassembly import MAX_DATAGRAM, Reassembler
from .tunnels import Decap, parse_geneve, parse_gre, parse_teredo, parse_vxlan

# (ip_version, src_hi, src_lo, dst_hi, dst_lo, proto, sport, dport, ip_len, payload_off,
#  payload_len, payload_cap, tcp_flags, tcp_seq, tcp_ack, tcp_win, vlan, tunnel)
Row = tuple[int, int, int, int, int, int, int, int, int, int, int, int, int, int, int, int, int, int]

_TCP = struct.Struct("!HHIIBBH")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_ADDR6 = struct.Struct("!QQQQ")
_ADDR4 = struct.Struct("!II")
_MAX_IPV6_EXT = 16


class _State:
    """What one frame's decoding has learnt so far (shared by the layers of that frame)."""

    __slots__ = ("base", "vlan", "tunnel", "depth", "ts")

    def __init__(self, base: int, ts: float) -> None:
        self.base = base  # global buf offset of data[0] (changes when a datagram is reassembled)
        self.vlan = -1
        self.tunnel = TUNNEL_NONE
        self.depth = 0
        self.ts = ts


class SlowPath:
    def __init__(self, counters: Counters, config: DecodeConfig) -> None:
        self.counters = counters
        self.config = config
        self.reassembler = Reassembler(
            counters, config.fragment_timeout, config.max_fragment_datagrams, config.max_fragment_bytes
        )
        self._vxlan = frozenset(config.vxlan_ports)
        self._geneve = frozenset(config.geneve_ports)
        self._teredo = frozenset(config.teredo_ports)
        self._udp_tunnels = (
            (TUNNEL_VXLAN, self._vxlan), (TUNNEL_GENEVE, self._geneve), (TUNNEL_TEREDO, self._teredo)
        )  # fmt: skip
        self.extra: list[bytes] = []  # synthesized datagrams, appended after the raw buffer
        # the last frame's encapsulating UDP packets, outermost first: (TUNNEL_* kind, plain UDP row)
        self.outer: list[tuple[int, Row]] = []
        self._next_base = 0

    def begin(self, raw_len: int) -> None:
        """Start a batch whose raw buffer is ``raw_len`` bytes long."""
        self.extra = []
        self._next_base = raw_len

    # -- entry point -------------------------------------------------------------------------

    def decode_frame(self, data: bytes, off: int, end: int, linktype: int, ts: float) -> Row | None:
        """The frame's innermost row (None: none, counted); its tunnels' UDP rows are in ``outer``."""
        if self.outer:
            self.outer = []
        st = _State(0, ts)
        return self._after_link(data, decode_link(data, off, end, linktype), end, st)

    def _after_link(self, data: bytes, l2: L2, end: int, st: _State) -> Row | None:
        if isinstance(l2, str):
            self.counters.add("decode." + l2 if l2 == UNSUPPORTED else "malformed." + l2)
            return None
        ethertype, off, vlan = l2
        if st.vlan < 0:
            st.vlan = vlan
        if ethertype in (ETH_IPV4, ETH_IPV6, ETH_RAW_IP):
            return self._ip(data, off, end, st, ethertype)
        self.counters.add("decode.non_ip")
        return None

    def _malformed(self, reason: str) -> None:
        self.counters.add("malformed." + reason)

    # -- IP ----------------------------------------------------------------------------------

    def _ip(self, data: bytes, off: int, end: int, st: _State, ethertype: int) -> Row | None:
        if off >= end:
            self._malformed("ip_truncated")
            return None
        version = data[off] >> 4
        if version == 4 and ethertype != ETH_IPV6:
            return self._ipv4(data, off, end, st)
        if version == 6 and ethertype != ETH_IPV4:
            return self._ipv6(data, off, end, st)
        self._malformed("ip_version")
        return None

    def _ipv4(self, data: bytes, off: int, end: int, st: _State) -> Row | None:
        if end - off < 20:
            self._malformed("ipv4_truncated")
            return None
        ihl = (data[off] & 0x0F) * 4
        if ihl < 20:
            self._malformed("ipv4_header_length")
            return None
        if end - off < ihl:
            self._malformed("ipv4_truncated")
            return None
        total = (data[off + 2] << 8) | data[off + 3]
        if total == 0:  # segmentation offload: the NIC fills the length in later
            self.counters.add("decode.ipv4_zero_length")
            total = end - off
        elif total < ihl:
            self._malformed("ipv4_total_length")
            return None
        ip_end = min(off + total, end)
        frag = (data[off + 6] << 8) | data[off + 7]
        proto = data[off + 9]
        if frag & 0x3FFF:
            return self._fragment4(data, off, ihl, total, ip_end, frag, proto, st)
        src, dst = _ADDR4.unpack_from(data, off + 12)
        return self._transport(
            data, st, 4, 0, V4_MAPPED_LO_PREFIX | src, 0, V4_MAPPED_LO_PREFIX | dst,
            proto, off, off + ihl, total, ip_end,
        )  # fmt: skip

    def _fragment4(
        self, data: bytes, off: int, ihl: int, total: int, ip_end: int, frag: int, proto: int, st: _State
    ) -> Row | None:
        if ip_end < off + total:
            self._malformed("fragment_truncated")
            return None
        offset = (frag & 0x1FFF) * 8
        payload = bytes(data[off + ihl : ip_end])
        if ihl + offset + len(payload) > MAX_DATAGRAM:
            self._malformed("fragment_oversize")
            return None
        header = None
        if offset == 0:
            h = bytearray(data[off : off + ihl])
            h[6] = h[7] = 0
            header = bytes(h)
        key = (4, bytes(data[off + 12 : off + 20]), proto, (data[off + 4] << 8) | data[off + 5])
        done = self.reassembler.add(key, st.ts, offset, bool(frag & 0x2000), payload, header)
        if done is None:
            return None
        head, body = done
        datagram = bytearray(head + body)
        datagram[2:4] = _U16.pack(len(datagram))
        return self._reassembled(bytes(datagram), st, self._ipv4)

    def _reassembled(self, datagram: bytes, st: _State, decode) -> Row | None:
        if len(datagram) > MAX_DATAGRAM:
            self._malformed("fragment_oversize")
            return None
        st.base = self._next_base
        self.extra.append(datagram)
        self._next_base += len(datagram)
        return decode(datagram, 0, len(datagram), st)

    def _ipv6(self, data: bytes, off: int, end: int, st: _State) -> Row | None:
        if end - off < 40:
            self._malformed("ipv6_truncated")
            return None
        plen = (data[off + 4] << 8) | data[off + 5]
        nh = data[off + 6]
        if plen == 0 and end - off > 40:  # jumbogram or segmentation offload: use what is there
            self.counters.add("decode.ipv6_zero_length")
            ip_len = end - off
        else:
            ip_len = 40 + plen
        ip_end = min(off + ip_len, end)
        pos, nh_pos = off + 40, off + 6
        for _ in range(_MAX_IPV6_EXT):
            if nh in IPV6_EXT_8 or nh == IPPROTO_AH:
                if pos + 2 > ip_end:
                    self._malformed("ipv6_extension_truncated")
                    return None
                size = (data[pos + 1] + 2) * 4 if nh == IPPROTO_AH else (data[pos + 1] + 1) * 8
                if pos + size > ip_end:
                    self._malformed("ipv6_extension_truncated")
                    return None
                nh_pos, nh, pos = pos, data[pos], pos + size
            elif nh == IPPROTO_FRAGMENT:
                if pos + 8 > ip_end:
                    self._malformed("ipv6_extension_truncated")
                    return None
                frag = (data[pos + 2] << 8) | data[pos + 3]
                if frag & 0xFFF9 == 0:  # atomic fragment (RFC 6946): offset 0, no more fragments
                    nh_pos, nh, pos = pos, data[pos], pos + 8
                    continue
                return self._fragment6(data, off, ip_len, ip_end, pos, nh_pos, frag, st)
            else:
                break
        else:
            self._malformed("ipv6_extension_chain")
            return None
        s_hi, s_lo, d_hi, d_lo = _ADDR6.unpack_from(data, off + 8)
        return self._transport(data, st, 6, s_hi, s_lo, d_hi, d_lo, nh, off, pos, ip_len, ip_end)

    def _fragment6(
        self, data: bytes, off: int, ip_len: int, ip_end: int, pos: int, nh_pos: int, frag: int, st: _State
    ) -> Row | None:
        if ip_end < off + ip_len:
            self._malformed("fragment_truncated")
            return None
        offset = frag & 0xFFF8
        payload = bytes(data[pos + 8 : ip_end])
        if (pos - off - 40) + offset + len(payload) > MAX_DATAGRAM:
            self._malformed("fragment_oversize")
            return None
        header = None
        if offset == 0:
            h = bytearray(data[off:pos])  # unfragmentable part, its last next-header patched
            h[nh_pos - off] = data[pos]
            header = bytes(h)
        key = (6, bytes(data[off + 8 : off + 40]), _U32.unpack_from(data, pos + 4)[0])
        done = self.reassembler.add(key, st.ts, offset, bool(frag & 1), payload, header)
        if done is None:
            return None
        head, body = done
        datagram = bytearray(head + body)
        datagram[4:6] = _U16.pack(min(len(datagram) - 40, 0xFFFF))
        return self._reassembled(bytes(datagram), st, self._ipv6)

    # -- transport ---------------------------------------------------------------------------

    def _transport(
        self, data: bytes, st: _State, version: int, s_hi: int, s_lo: int, d_hi: int, d_lo: int,
        proto: int, l3: int, l4: int, ip_len: int, ip_end: int,
    ) -> Row | None:  # fmt: skip
        ip_payload = ip_len - (l4 - l3)
        base = st.base
        if proto == IPPROTO_TCP:
            if l4 + 14 > ip_end:  # not even the flags: nothing to follow the connection with
                self._malformed("tcp_truncated")
                return None
            if l4 + 20 > ip_end:
                return self._short_tcp(
                    data, st, version, s_hi, s_lo, d_hi, d_lo, l4, ip_len, ip_payload, ip_end
                )
            sport, dport, seq, ack, doff, flags, win = _TCP.unpack_from(data, l4)
            hlen = (doff >> 4) * 4
            if hlen < 20:
                self._malformed("tcp_header_length")
                return None
            if l4 + hlen > ip_end:  # options cut off: the fixed header is all there
                self.counters.add("weird.truncated_l4")
                return (
                    version, s_hi, s_lo, d_hi, d_lo, proto, sport, dport, ip_len, base + ip_end,
                    max(0, ip_payload - hlen), 0, flags, seq, ack, win, st.vlan, st.tunnel,
                )  # fmt: skip
            plen = ip_payload - hlen
            return (
                version, s_hi, s_lo, d_hi, d_lo, proto, sport, dport, ip_len, base + l4 + hlen,
                plen, min(plen, ip_end - l4 - hlen), flags, seq, ack, win, st.vlan, st.tunnel,
            )  # fmt: skip
        if proto == IPPROTO_UDP:
            if l4 + 8 > ip_end:
                return self._short_udp(
                    data, st, version, s_hi, s_lo, d_hi, d_lo, l4, ip_len, ip_payload, ip_end
                )
            sport, dport, ulen = struct.unpack_from("!HHH", data, l4)
            if ulen < 8:
                self._malformed("udp_length")
                return None
            plen = min(ulen, ip_payload) - 8
            cap = min(plen, ip_end - l4 - 8)
            udp: Row = (
                version, s_hi, s_lo, d_hi, d_lo, proto, sport, dport, ip_len, base + l4 + 8,
                plen, cap, 0, 0, 0, 0, st.vlan, st.tunnel,
            )  # fmt: skip
            for kind, ports in self._udp_tunnels:
                if sport in ports or dport in ports:
                    row = self._udp_tunnel(data, l4 + 8, l4 + 8 + cap, st, kind, udp)
                    if row is not _NOT_TUNNEL:
                        return row  # type: ignore[return-value]
            return udp
        if (proto == IPPROTO_ICMP and version == 4) or (proto == IPPROTO_ICMPV6 and version == 6):
            if l4 + 8 > ip_end:
                self._malformed("icmp_truncated")
                return None
            plen = ip_payload - 8
            return (
                version, s_hi, s_lo, d_hi, d_lo, proto, data[l4], data[l4 + 1], ip_len, base + l4 + 8,
                plen, min(plen, ip_end - l4 - 8), 0, 0, 0, 0, st.vlan, st.tunnel,
            )  # fmt: skip
        if proto in (IPPROTO_IPIP, IPPROTO_IPV6):
            return self._decapsulate(
                data, (ETH_IPV4 if proto == IPPROTO_IPIP else ETH_IPV6, l4), ip_end, st, TUNNEL_IPIP
            )
        if proto == IPPROTO_GRE:
            decap, erspan = parse_gre(data, l4, ip_end)
            if decap is not None:
                return self._decapsulate(data, decap, ip_end, st, TUNNEL_ERSPAN if erspan else TUNNEL_GRE)
        # Any other protocol (ESP, OSPF, SCTP, unsupported GRE…): a row without ports.
        if ip_payload < 0:
            self._malformed("ip_payload_length")
            return None
        return (
            version, s_hi, s_lo, d_hi, d_lo, proto, 0, 0, ip_len, base + l4,
            ip_payload, max(0, min(ip_payload, ip_end - l4)), 0, 0, 0, 0, st.vlan, st.tunnel,
        )  # fmt: skip

    # Truncated transport headers (a snap length, or a reassembled datagram that ends early): the
    # row carries what is there, as tshark shows it, and is counted as weird.truncated_l4. A TCP
    # header needs its flags byte (offset 13), a UDP header its ports; shorter ones are malformed.

    def _short_tcp(
        self, data: bytes, st: _State, version: int, s_hi: int, s_lo: int, d_hi: int, d_lo: int,
        l4: int, ip_len: int, ip_payload: int, ip_end: int,
    ) -> Row | None:  # fmt: skip
        sport, dport, seq, ack = struct.unpack_from("!HHII", data, l4)
        hlen = (data[l4 + 12] >> 4) * 4
        if hlen < 20:
            self._malformed("tcp_header_length")
            return None
        win = _U16.unpack_from(data, l4 + 14)[0] if l4 + 16 <= ip_end else 0
        self.counters.add("weird.truncated_l4")
        return (
            version, s_hi, s_lo, d_hi, d_lo, IPPROTO_TCP, sport, dport, ip_len, st.base + ip_end,
            max(0, ip_payload - hlen), 0, data[l4 + 13], seq, ack, win, st.vlan, st.tunnel,
        )  # fmt: skip

    def _short_udp(
        self, data: bytes, st: _State, version: int, s_hi: int, s_lo: int, d_hi: int, d_lo: int,
        l4: int, ip_len: int, ip_payload: int, ip_end: int,
    ) -> Row | None:  # fmt: skip
        if l4 + 4 > ip_end:
            self._malformed("udp_truncated")
            return None
        sport, dport = struct.unpack_from("!HH", data, l4)
        ulen = _U16.unpack_from(data, l4 + 4)[0] if l4 + 6 <= ip_end else ip_payload
        if ulen < 8:
            self._malformed("udp_length")
            return None
        self.counters.add("weird.truncated_l4")
        return (
            version, s_hi, s_lo, d_hi, d_lo, IPPROTO_UDP, sport, dport, ip_len, st.base + ip_end,
            max(0, min(ulen, ip_payload) - 8), 0, 0, 0, 0, 0, st.vlan, st.tunnel,
        )  # fmt: skip

    # -- tunnels -----------------------------------------------------------------------------

    def _udp_tunnel(
        self, data: bytes, off: int, end: int, st: _State, kind: int, udp: Row
    ) -> Row | None | object:
        if kind == TUNNEL_VXLAN:
            decap = parse_vxlan(data, off, end)
        elif kind == TUNNEL_GENEVE:
            decap = parse_geneve(data, off, end)
        else:
            decap = parse_teredo(data, off, end)
        if decap is None:
            return _NOT_TUNNEL
        # Zeek's UDP analyser counts the packet in the outer connection before the tunnel's analyser
        # takes its payload (and confirms the service on a valid header): keep its row. Not when the
        # header is malformed or the nesting too deep: the frame is then dropped and counted.
        if not isinstance(decap, str) and st.depth < self.config.max_tunnel_depth:
            self.outer.append((kind, udp))
        return self._decapsulate(data, decap, end, st, kind)

    def _decapsulate(self, data: bytes, decap: Decap, end: int, st: _State, kind: int) -> Row | None:
        if isinstance(decap, str):
            self._malformed(decap)
            return None
        assert decap is not None
        st.depth += 1
        if st.depth > self.config.max_tunnel_depth:
            self._malformed("tunnel_depth")
            return None
        if st.tunnel == TUNNEL_NONE:
            st.tunnel = kind
        ethertype, off = decap
        if ethertype == ETH_FRAME:
            return self._after_link(data, decode_ethernet(data, off, end, -1), end, st)
        if ethertype in (ETH_IPV4, ETH_IPV6, ETH_RAW_IP, ETH_NOT_IP):
            return self._after_link(data, (ethertype, off, -1), end, st)
        return self._after_link(data, after_ethertype(data, off, end, ethertype, -1), end, st)


_NOT_TUNNEL = object()
