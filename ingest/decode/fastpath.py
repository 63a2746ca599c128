"""Vectorised decoding of ordinary frames: numpy over the whole batch, no per-packet Python.

Accepted: Ethernet with at most one 802.1Q tag, Linux SLL, or raw IP; IPv4 (any IHL, not a
fragment, total length set) or IPv6 whose next header is directly the transport; TCP, UDP (not to
or from a tunnel port) and ICMP/ICMPv6 whose headers are complete within the IP length. One level
of the common tunnels is removed here too: VXLAN (Ethernet inside) and GRE version 0 carrying IPv4,
IPv6, transparent Ethernet or ERSPAN type I/II, when the inner packet meets the same rules. Anything
else — including every malformed frame — is returned untouched for the slow path, which applies
the same rules, so the combined result does not depend on which path took a frame.

When the optional C extension ``_fastdecode`` is built, it decodes the untunnelled part of those
frames first in one pass (same rules, same values); numpy then runs only on the frames it left.

A VXLAN frame decoded here also gives the row of its UDP packet (``Outer``), as the slow path does
(slowpath.SlowPath.outer): the flow meter logs the encapsulating connection as Zeek does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from wardwatch.ingest.native import load

from .columns import TUNNEL_ERSPAN, TUNNEL_GRE, TUNNEL_VXLAN, V4_MAPPED_LO_PREFIX
from .constants import (
    ETH_ERSPAN_1_2,
    ETH_IPV4,
    ETH_IPV6,
    ETH_TRANSPARENT,
    IPPROTO_GRE,
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    RAW_LINKTYPES,
)

_native = load(__package__, "_fastdecode")

_VLAN = 0x8100
_CHUNK = 8192  # frames per vectorised step


_WINDOW = 80  # header bytes gathered per frame: VLAN Ethernet + IPv6 or IPv4 with 24 option bytes + 16


def _windows(buf: bytes, start: np.ndarray, caplen: np.ndarray) -> np.ndarray:
    """The first _WINDOW bytes of each frame as one (m, _WINDOW) matrix, zero padded.

    One gather pass over the capture buffer: every later field read hits this compact matrix
    instead of missing the cache in a buffer of tens of megabytes again."""
    m = start.shape[0]
    b = np.frombuffer(buf, dtype=np.uint8)
    last = b.shape[0] - _WINDOW
    if last >= 0:
        rows = np.lib.stride_tricks.as_strided(b, shape=(last + 1, _WINDOW), strides=(1, 1), writeable=False)
        out = rows[np.minimum(start, last)]  # fancy indexing copies: no zero fill needed first
    else:
        out = np.zeros((m, _WINDOW), dtype=np.uint8)
    # Frames starting within the buffer's last _WINDOW bytes were read shifted: redo them by hand.
    for i in np.flatnonzero(start > last).tolist():
        s = int(start[i])
        chunk = buf[s : s + min(_WINDOW, int(caplen[i]))]
        out[i, :] = 0
        out[i, : len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
    return out


def _slices(win: np.ndarray, pos: np.ndarray, width: int) -> np.ndarray:
    """(m, width) matrix: row i is win's flat bytes pos[i] .. pos[i] + width (clamped at the end)."""
    flat = win.reshape(-1)
    last = flat.shape[0] - width
    rows = np.lib.stride_tricks.as_strided(flat, shape=(last + 1, width), strides=(1, 1), writeable=False)
    return rows[np.minimum(pos, last)]


def _words(matrix: np.ndarray, dtype: str) -> np.ndarray:
    """Big-endian words of each row of a C-contiguous uint8 matrix, as int64 (m, width/size)."""
    return np.ascontiguousarray(matrix).view(dtype).astype(np.int64)


# Output columns (PacketBatch's, except ts/source/frame) with their dtypes.
COLUMNS: tuple[tuple[str, type], ...] = (
    ("ip_version", np.uint8),
    ("src_hi", np.uint64),
    ("src_lo", np.uint64),
    ("dst_hi", np.uint64),
    ("dst_lo", np.uint64),
    ("proto", np.uint8),
    ("sport", np.uint16),
    ("dport", np.uint16),
    ("ip_len", np.int32),
    ("payload_off", np.int64),
    ("payload_len", np.int32),
    ("payload_cap", np.int32),
    ("tcp_flags", np.uint8),
    ("tcp_seq", np.uint32),
    ("tcp_ack", np.uint32),
    ("tcp_win", np.uint16),
    ("vlan", np.int32),
    ("tunnel", np.uint8),
)


@dataclass(slots=True)
class Outer:
    """Rows of encapsulating UDP packets: one per frame listed in ``frames`` (ascending frame
    indexes of the batch), ``cols`` as ``empty_columns`` (filled), ``encap`` their TUNNEL_* kinds."""

    frames: np.ndarray
    cols: dict[str, np.ndarray]
    encap: np.ndarray

    @classmethod
    def join(cls, parts: list[Outer]) -> Outer | None:
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        return cls(
            np.concatenate([p.frames for p in parts]),
            {name: np.concatenate([p.cols[name] for p in parts]) for name, _ in COLUMNS},
            np.concatenate([p.encap for p in parts]),
        )


def empty_columns(n: int) -> dict[str, np.ndarray]:
    """Uninitialised frame-indexed output columns: only rows later marked as decoded are read."""
    return {name: np.empty(n, dtype=dtype) for name, dtype in COLUMNS}


def _isin(values: np.ndarray, choices: tuple[int, ...]) -> np.ndarray:
    """np.isin for a handful of constants: a few comparisons beat its sort-based setup."""
    out = np.zeros(values.shape, dtype=bool)
    for c in choices:
        out |= values == c
    return out


def native_available() -> bool:
    """Whether the C extension is built (else numpy decodes every fast-path frame)."""
    return _native is not None


def _port_bitmap(ports: tuple[int, ...]) -> bytes:
    bits = bytearray(8192)
    for port in ports:
        if 0 <= port <= 0xFFFF:
            bits[port >> 3] |= 1 << (port & 7)
    return bytes(bits)


def fast_decode(
    buf: bytes,
    offset: np.ndarray,
    caplen: np.ndarray,
    linktype: np.ndarray,
    tunnel_ports: tuple[int, ...],
    vxlan_ports: tuple[int, ...] = (),
    tunnels: bool = False,
    native: bool = True,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, Outer | None]:
    """Decode what the fast path accepts: in C first when built (and ``native``), then numpy.

    Returns as ``numpy_decode``; the C pass changes which code decodes a frame, never the result
    (it takes no tunnel, so the encapsulating rows all come from numpy).
    """
    n = int(offset.shape[0])
    if not native or _native is None or n == 0:
        return numpy_decode(buf, offset, caplen, linktype, tunnel_ports, vxlan_ports, tunnels)
    offset = np.ascontiguousarray(offset, dtype=np.int64)
    caplen = np.ascontiguousarray(caplen, dtype=np.int32)
    linktype = np.ascontiguousarray(linktype, dtype=np.uint16)
    out = empty_columns(n)
    done = np.zeros(n, dtype=bool)
    # UDP on any tunnel port (VXLAN's too, whatever the config) is left to numpy, which opens tunnels.
    reject = _port_bitmap((*tunnel_ports, *vxlan_ports))
    _native.decode_frames(
        buf, offset, caplen, linktype, reject, tuple(out[name] for name, _ in COLUMNS), done
    )
    rest = np.flatnonzero(~done)
    outer = None
    if rest.size:
        cols, got, _, outer = numpy_decode(
            buf, offset[rest], caplen[rest], linktype[rest], tunnel_ports, vxlan_ports, tunnels
        )
        if outer is not None:
            outer.frames = rest[outer.frames]
        if got.any():
            rows = rest[got]
            for name, col in cols.items():
                out[name][rows] = col[got]
            done[rows] = True
            rest = np.flatnonzero(~done)
    return out, done, rest, outer


def numpy_decode(
    buf: bytes,
    offset: np.ndarray,
    caplen: np.ndarray,
    linktype: np.ndarray,
    tunnel_ports: tuple[int, ...],
    vxlan_ports: tuple[int, ...] = (),
    tunnels: bool = False,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, Outer | None]:
    """Decode what the fast path accepts.

    ``tunnels`` enables removing one GRE/VXLAN layer (``vxlan_ports`` name VXLAN's UDP ports).
    Returns (frame-indexed columns of ``empty_columns(n)``, filled where decoded; a bool mask of the
    frames decoded here; ascending indices of the frames left for the slow path; the rows of the
    encapsulating UDP packets of frames decoded here, None when there are none). Writing straight
    into frame-indexed columns lets the caller merge in slow-path rows and drop the frames without
    a row in one compressing pass, instead of concatenating and re-sorting every column.
    """
    n = int(offset.shape[0])
    out = empty_columns(n)
    done = np.zeros(n, dtype=bool)
    outer: list[Outer] = []
    # Chunks keep the temporaries in cache and reuse their memory instead of faulting in new pages.
    for lo in range(0, n, _CHUNK):
        hi = min(n, lo + _CHUNK)
        part = _decode_chunk(
            buf, offset[lo:hi], caplen[lo:hi], linktype[lo:hi], tunnel_ports, vxlan_ports, tunnels,
            {name: col[lo:hi] for name, col in out.items()}, done[lo:hi],
        )  # fmt: skip
        if part is not None:
            part.frames += lo
            outer.append(part)
    return out, done, np.flatnonzero(~done), Outer.join(outer)


def _store(out: dict[str, np.ndarray], rows: np.ndarray, cols: dict[str, np.ndarray], full: bool) -> None:
    if full:  # every row of the chunk: a plain copy
        for name, col in cols.items():
            out[name][:] = col
    else:
        for name, col in cols.items():
            out[name][rows] = col


def _decode_chunk(
    buf: bytes,
    offset: np.ndarray,
    caplen: np.ndarray,
    linktype: np.ndarray,
    tunnel_ports: tuple[int, ...],
    vxlan_ports: tuple[int, ...],
    tunnels: bool,
    out: dict[str, np.ndarray],
    done: np.ndarray,
) -> Outer | None:
    """One chunk into ``out``/``done``; returns the rows of its VXLAN frames' UDP packets."""
    n = int(offset.shape[0])
    cap = caplen.astype(np.int64)
    l2len = np.full(n, -1, dtype=np.int64)
    l2len[linktype == LINKTYPE_ETHERNET] = 14
    l2len[linktype == LINKTYPE_LINUX_SLL] = 16
    l2len[_isin(linktype, RAW_LINKTYPES)] = 0
    cand = np.flatnonzero((l2len >= 0) & (cap >= l2len + 20))
    m = int(cand.shape[0])
    if m == 0:
        return None

    # Positions below are relative to the frame start; the window's flat index is base + position.
    start = offset[cand]
    win = _windows(buf, start, cap[cand])
    base = np.arange(m, dtype=np.int64) * _WINDOW
    end = cap[cand]
    lt = linktype[cand]
    l3 = l2len[cand]

    # Link layer → ethertype (0 when not taken here), VLAN id.
    link = _words(win[:, 12:18], ">u2")  # Ethernet type, VLAN TCI, inner type / SLL protocol
    is_eth = lt == LINKTYPE_ETHERNET
    tagged = is_eth & (link[:, 0] == _VLAN)
    vlan = np.where(tagged, link[:, 1] & 0x0FFF, -1).astype(np.int32)
    ethertype = np.where(tagged, link[:, 2], np.where(is_eth, link[:, 0], 0))
    l3 = l3 + tagged * 4
    if not is_eth.all():
        ethertype = np.where(lt == LINKTYPE_LINUX_SLL, link[:, 1], ethertype)
        version = win.reshape(-1)[base + l3] >> 4
        ethertype = np.where(
            lt == LINKTYPE_IPV4, ETH_IPV4,
            np.where(lt == LINKTYPE_IPV6, ETH_IPV6, np.where(
                _isin(lt, RAW_LINKTYPES), np.where(version == 4, ETH_IPV4, np.where(version == 6, ETH_IPV6, 0)),
                ethertype,
            )),
        )  # fmt: skip

    k, accept, cols, tun = _network(
        win, base, l3, end, ethertype, vlan, tunnel_ports, vxlan_ports if tunnels else None
    )
    cols["payload_off"] += start[k]
    # Rejected rows are written too (one scatter instead of a gather and a scatter): they are
    # overwritten by the slow path or never read, as ``done`` stays False for them.
    rows = cand[k]
    _store(out, rows, cols, rows.shape[0] == n)
    done[rows[accept]] = True
    if tun is None:
        return None
    t, inner, inner_end, inner_type, kind = tun
    # The inner packet lies past the outer window: gather a second window at its start.
    t_start = start[t] + inner
    win2 = _windows(buf, t_start, end[t] - inner)
    framed = inner_type < 0  # an Ethernet header comes first
    inner_eth = _words(win2[:, 12:14], ">u2")[:, 0]
    inner_type = np.where(framed, np.where(inner_end - inner >= 14, inner_eth, 0), inner_type)
    base2 = np.arange(t.shape[0], dtype=np.int64) * _WINDOW
    k2, accept2, cols2, _ = _network(
        win2, base2, framed * 14, inner_end - inner, inner_type, vlan[t], tunnel_ports, None
    )
    a2 = np.flatnonzero(accept2)
    if not a2.size:
        return None
    cols2 = {name: col[a2] for name, col in cols2.items()}
    k2 = k2[a2]
    cols2["payload_off"] += t_start[k2]
    cols2["tunnel"] = kind[k2].astype(np.uint8)
    rows2 = cand[t[k2]]
    outer = None
    vx = np.flatnonzero(kind[k2] == TUNNEL_VXLAN)
    if vx.size:
        # the UDP packet's own row: what the first pass wrote for these frames, before the inner
        # packet's row replaces it
        frames = rows2[vx]
        outer = Outer(
            frames,
            {name: out[name][frames].copy() for name, _ in COLUMNS},
            np.full(frames.shape[0], TUNNEL_VXLAN, dtype=np.uint8),
        )
    _store(out, rows2, cols2, False)
    done[rows2] = True
    return outer


_Tunnels = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _network(
    win: np.ndarray,
    base: np.ndarray,
    l3: np.ndarray,
    end: np.ndarray,
    ethertype: np.ndarray,
    vlan: np.ndarray,
    tunnel_ports: tuple[int, ...],
    vxlan_ports: tuple[int, ...] | None,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], _Tunnels | None]:
    """IP and transport headers at frame position ``l3`` (the frame ends at ``end``).

    Returns (rows looked at, which of them are accepted, their columns with payload_off relative to
    the frame start, and — when ``vxlan_ports`` is given — the tunnels to open: (rows, inner start,
    inner end, inner ethertype or -1 for an Ethernet frame, TUNNEL_* kind)). Rows neither accepted
    nor tunnels are left over.
    """
    m = int(win.shape[0])
    # Network layer: both header layouts read from one 40-byte slice at l3, chosen by version.
    ip = _slices(win, base + l3, 40)
    w4 = _words(ip[:, :20], ">u4")
    w6 = _words(ip[:, :8], ">u4")
    version = w4[:, 0] >> 28
    is4 = (ethertype == ETH_IPV4) & (version == 4) & (l3 + 20 <= end)
    is6 = (ethertype == ETH_IPV6) & (version == 6) & (l3 + 40 <= end)
    ihl = ((w4[:, 0] >> 24) & 0x0F) * 4
    total = w4[:, 0] & 0xFFFF
    plen = w6[:, 1] >> 16
    proto = np.where(is6, (w6[:, 1] >> 8) & 0xFF, (w4[:, 2] >> 16) & 0xFF)
    common = (proto == 6) | (proto == 17)
    if vxlan_ports is not None:
        common |= proto == IPPROTO_GRE
    ok4 = is4 & (ihl >= 20) & (total >= ihl) & ((w4[:, 1] & 0x3FFF) == 0) & (l3 + ihl <= end)
    ok4 &= common | (proto == 1)
    ok6 = is6 & (plen > 0) & (common | (proto == 58))
    l4 = l3 + np.where(is6, 40, ihl)
    ok = (ok4 | ok6) & (l4 + 16 <= _WINDOW)  # longer IPv4 options: the slow path
    # Rows failing ``ok`` are computed on anyway (reads stay within the window, their values are
    # never used): cheaper than compressing every array when a few frames drop out.
    k = np.arange(m)
    ip_len = np.where(is6, 40 + plen, total)
    if is6.any():
        a6 = ip[:, 8:40].view(">u8").astype(np.uint64)
        src_hi = np.where(is6, a6[:, 0], np.uint64(0))
        dst_hi = np.where(is6, a6[:, 2], np.uint64(0))
        src_lo = np.where(is6, a6[:, 1], w4[:, 3].astype(np.uint64) | np.uint64(V4_MAPPED_LO_PREFIX))
        dst_lo = np.where(is6, a6[:, 3], w4[:, 4].astype(np.uint64) | np.uint64(V4_MAPPED_LO_PREFIX))
    else:
        src_hi = dst_hi = np.zeros(k.size, dtype=np.uint64)
        src_lo = w4[:, 3].astype(np.uint64) | np.uint64(V4_MAPPED_LO_PREFIX)
        dst_lo = w4[:, 4].astype(np.uint64) | np.uint64(V4_MAPPED_LO_PREFIX)
    ip_end = np.minimum(l3 + ip_len, end)

    # Transport layer: the first 16 bytes (ports, TCP sequence/ack/offset/flags/window, UDP length).
    w = _words(_slices(win, base + l4, 16), ">u4")
    w0, w1, w2, w3 = w[:, 0], w[:, 1], w[:, 2], w[:, 3]
    tcp = proto == 6
    udp = proto == 17
    icmp = ~(tcp | udp)
    sport = w0 >> 16
    dport = w0 & 0xFFFF
    doff = (w3 >> 28) * 4
    ulen = w1 >> 16
    header = np.where(tcp, doff, 8)
    accept = ok & (l4 + header <= ip_end) & ~(tcp & (doff < 20)) & ~(udp & (ulen < 8))
    on_port = udp & (_isin(sport, tunnel_ports) | _isin(dport, tunnel_ports)) if tunnel_ports else None
    if on_port is not None:
        accept &= ~on_port
    ip_payload = ip_len - (l4 - l3)
    payload_len = np.where(udp, np.minimum(ulen, ip_payload) - 8, ip_payload - header)
    payload_off = l4 + header
    payload_cap = np.minimum(payload_len, ip_end - payload_off)

    tun: _Tunnels | None = None
    if vxlan_ports is not None:
        gre = ok & (proto == IPPROTO_GRE)
        accept &= ~gre
        tun = _tunnels(k, gre, ok & udp, sport, dport, w0, w2, l4, ip_end, ulen, payload_cap, vxlan_ports)

    if icmp.any():
        sport = np.where(icmp, w0 >> 24, sport)
        dport = np.where(icmp, (w0 >> 16) & 0xFF, dport)
    if not tcp.all():
        zero = np.int64(0)
        w1, w2, w3 = np.where(tcp, w1, zero), np.where(tcp, w2, zero), np.where(tcp, w3, zero)

    cols = {
        "ip_version": np.where(is6, 6, 4).astype(np.uint8),
        "src_hi": src_hi,
        "src_lo": src_lo,
        "dst_hi": dst_hi,
        "dst_lo": dst_lo,
        "proto": proto,
        "sport": sport,
        "dport": dport,
        "ip_len": ip_len,
        "payload_off": payload_off,
        "payload_len": payload_len,
        "payload_cap": payload_cap,
        "tcp_flags": w3 >> 16,
        "tcp_seq": w1,
        "tcp_ack": w2,
        "tcp_win": w3 & 0xFFFF,
        "vlan": vlan,
        "tunnel": np.zeros(k.size, dtype=np.uint8),
    }
    return k, accept, cols, tun


def _tunnels(
    k: np.ndarray,
    gre: np.ndarray,
    udp: np.ndarray,
    sport: np.ndarray,
    dport: np.ndarray,
    w0: np.ndarray,
    w2: np.ndarray,
    l4: np.ndarray,
    ip_end: np.ndarray,
    ulen: np.ndarray,
    payload_cap: np.ndarray,
    vxlan_ports: tuple[int, ...],
) -> _Tunnels | None:
    """The GRE and VXLAN headers (see tunnels.py for the per-packet rules mirrored here)."""
    on_vx = udp & (_isin(sport, vxlan_ports) | _isin(dport, vxlan_ports)) if vxlan_ports else gre
    t = np.flatnonzero(gre | on_vx)  # few rows: the checks below only look at these
    if not t.size:
        return None
    gre, w0, w2, l4, ip_end, ulen, cap = gre[t], w0[t], w2[t], l4[t], ip_end[t], ulen[t], payload_cap[t]
    # VXLAN: a complete UDP header, 8 header bytes within the datagram, the I flag set.
    vxlan = ~gre & (l4 + 8 <= ip_end) & (ulen >= 8) & (cap >= 8) & ((w2 >> 24) & 0x08 != 0)
    # GRE version 0 without source routing; C, K and S each add a 4-byte field.
    flags = w0 >> 24
    gproto = w0 & 0xFFFF
    pos = l4 + 4 + 4 * (((flags >> 7) & 1) + ((flags >> 5) & 1) + ((flags >> 4) & 1))
    erspan = gproto == ETH_ERSPAN_1_2
    pos = pos + np.where(erspan & (flags & 0x10 != 0), 8, 0)  # ERSPAN type II header
    gre &= (l4 + 4 <= ip_end) & ((w0 >> 16) & 0x07 == 0) & (flags & 0x40 == 0) & (pos <= ip_end)
    gre &= erspan | (gproto == ETH_IPV4) | (gproto == ETH_IPV6) | (gproto == ETH_TRANSPARENT)
    s = np.flatnonzero(gre | vxlan)
    if not s.size:
        return None
    is_vx = vxlan[s]
    inner = np.where(is_vx, l4[s] + 16, pos[s])
    inner_end = np.where(is_vx, l4[s] + 8 + cap[s], ip_end[s])
    g = gproto[s]
    inner_type = np.where(is_vx | (g == ETH_TRANSPARENT) | (g == ETH_ERSPAN_1_2), -1, g)
    kind = np.where(is_vx, TUNNEL_VXLAN, np.where(g == ETH_ERSPAN_1_2, TUNNEL_ERSPAN, TUNNEL_GRE))
    return k[t[s]], inner, inner_end, inner_type, kind
