"""Vectorised decoding of ordinary frames: numpy over the whole batch, no per-packet Python.

Accepted: Ethernet with at most one 802.1Q tag, Linux SLL, or raw IP; IPv4 (any IHL, not a
fragment, total length set) or IPv6 whose next header is directly the transport; TCP, UDP (not to
or from a tunnel port) and ICMP/ICMPv6 whose headers are complete within the IP length. Anything
else — including every malformed frame — is returned untouched for the slow path, which applies
the same rules, so the combined result does not depend on which path took a frame.
"""

from __future__ import annotations

import numpy as np

from .columns import V4_MAPPED_LO_PREFIX
from .constants import (
    ETH_IPV4,
    ETH_IPV6,
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    RAW_LINKTYPES,
)

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
    out = np.zeros((m, _WINDOW), dtype=np.uint8)
    if last >= 0:
        rows = np.lib.stride_tricks.as_strided(b, shape=(last + 1, _WINDOW), strides=(1, 1), writeable=False)
        out[:] = rows[np.minimum(start, last)]
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


def fast_decode(
    buf: bytes,
    offset: np.ndarray,
    caplen: np.ndarray,
    linktype: np.ndarray,
    tunnel_ports: tuple[int, ...],
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Decode what the fast path accepts.

    Returns (indices of the frames decoded here, their PacketBatch columns except ts/source/frame,
    indices of the frames left for the slow path); both index arrays ascending.
    """
    n = int(offset.shape[0])
    if n <= _CHUNK:
        return _decode_chunk(buf, offset, caplen, linktype, tunnel_ports)
    # Chunks keep the temporaries in cache and reuse their memory instead of faulting in new pages.
    parts = []
    for lo in range(0, n, _CHUNK):
        hi = min(n, lo + _CHUNK)
        idx, cols, left = _decode_chunk(buf, offset[lo:hi], caplen[lo:hi], linktype[lo:hi], tunnel_ports)
        parts.append((idx + lo, cols, left + lo))
    filled = [cols for _, cols, _ in parts if cols]
    merged = {name: np.concatenate([c[name] for c in filled]) for name in filled[0]} if filled else {}
    return (
        np.concatenate([p[0] for p in parts]),
        merged,
        np.concatenate([p[2] for p in parts]),
    )


def _decode_chunk(
    buf: bytes,
    offset: np.ndarray,
    caplen: np.ndarray,
    linktype: np.ndarray,
    tunnel_ports: tuple[int, ...],
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    n = int(offset.shape[0])
    cap = caplen.astype(np.int64)
    l2len = np.full(n, -1, dtype=np.int64)
    l2len[linktype == LINKTYPE_ETHERNET] = 14
    l2len[linktype == LINKTYPE_LINUX_SLL] = 16
    l2len[np.isin(linktype, RAW_LINKTYPES)] = 0
    cand = np.flatnonzero((l2len >= 0) & (cap >= l2len + 20))
    m = int(cand.shape[0])
    if m == 0:
        return np.zeros(0, np.int64), {}, np.arange(n, dtype=np.int64)

    # Positions below are relative to the frame start; the window's flat index is base + position.
    win = _windows(buf, offset[cand], cap[cand])
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
                np.isin(lt, RAW_LINKTYPES), np.where(version == 4, ETH_IPV4, np.where(version == 6, ETH_IPV6, 0)),
                ethertype,
            )),
        )  # fmt: skip

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
    ok4 = is4 & (ihl >= 20) & (total >= ihl) & ((w4[:, 1] & 0x3FFF) == 0) & (l3 + ihl <= end)
    ok4 &= (proto == 6) | (proto == 17) | (proto == 1)
    ok6 = is6 & (plen > 0) & ((proto == 6) | (proto == 17) | (proto == 58))
    l4 = l3 + np.where(is6, 40, ihl)
    ok = (ok4 | ok6) & (l4 + 16 <= _WINDOW)  # longer IPv4 options: the slow path
    k = np.flatnonzero(ok)
    if k.size < m:
        cand, base, l3, l4, end, vlan, proto = cand[k], base[k], l3[k], l4[k], end[k], vlan[k], proto[k]
        ip, w4, is6, total, plen = ip[k], w4[k], is6[k], total[k], plen[k]
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
    accept = (l4 + header <= ip_end) & ~(tcp & (doff < 20)) & ~(udp & (ulen < 8))
    ports = np.asarray(tunnel_ports, dtype=np.int64)
    if ports.size:
        accept &= ~(udp & (np.isin(sport, ports) | np.isin(dport, ports)))
    ip_payload = ip_len - (l4 - l3)
    payload_len = np.where(udp, np.minimum(ulen, ip_payload) - 8, ip_payload - header)
    payload_off = l4 + header
    payload_cap = np.minimum(payload_len, ip_end - payload_off)
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
        "proto": proto.astype(np.uint8),
        "sport": sport.astype(np.uint16),
        "dport": dport.astype(np.uint16),
        "ip_len": ip_len.astype(np.int32),
        "payload_off": offset[cand] + payload_off,
        "payload_len": payload_len.astype(np.int32),
        "payload_cap": payload_cap.astype(np.int32),
        "tcp_flags": (w3 >> 16).astype(np.uint8),
        "tcp_seq": w1.astype(np.uint32),
        "tcp_ack": w2.astype(np.uint32),
        "tcp_win": (w3 & 0xFFFF).astype(np.uint16),
        "vlan": vlan,
        "tunnel": np.zeros(cand.shape[0], dtype=np.uint8),
    }
    if not accept.all():
        a = np.flatnonzero(accept)
        cand = cand[a]
        cols = {name: col[a] for name, col in cols.items()}
    left = np.ones(n, dtype=bool)
    left[cand] = False
    return cand, cols, np.flatnonzero(left)
