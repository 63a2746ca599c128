"""Classic libpcap files: the global header, then a record scan into columns.

The scan runs in the C extension ``_scan`` when it is built; otherwise in Python, where only the
record lengths are read in the loop (one ``unpack_from`` a record) and every other header field is
gathered afterwards with numpy. Both give identical results. This is our own code because dpkt and
scapy build an object per packet and run 10-100x slower.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
from wardwatch.ingest.native import load

from .piece import MAX_CAPLEN, MAX_PIECE_BYTES, Buffer, Piece, Scan, Stop, first_false, gather_u32

_cscan = load(__package__, "_scan")

GLOBAL_HEADER_LEN = 24
# The upper bits of the link-type field carry the FCS length and flags (pcap-savefile(5)).
LINKTYPE_MASK = 0x03FFFFFF

# magic as read little-endian -> (byte order, fraction unit, record header length)
_MAGICS: dict[int, tuple[str, float, int]] = {
    0xA1B2C3D4: ("<", 1e-6, 16),
    0xD4C3B2A1: (">", 1e-6, 16),
    0xA1B23C4D: ("<", 1e-9, 16),
    0x4D3CB2A1: (">", 1e-9, 16),
    0xA1B2CD34: ("<", 1e-6, 24),  # Kuznetsov's modified pcap: 8 more bytes a record
    0x34CDB2A1: (">", 1e-6, 24),
}


def is_pcap(head: bytes) -> bool:
    return len(head) >= 4 and struct.unpack_from("<I", head)[0] in _MAGICS


@dataclass
class PcapParser:
    order: str
    frac_unit: float
    record_len: int
    linktype: int
    snaplen: int

    @classmethod
    def from_header(cls, buf: bytes) -> PcapParser | None:
        """Parse the 24-byte global header; None when it is too short or not pcap."""
        if len(buf) < GLOBAL_HEADER_LEN or not is_pcap(buf[:4]):
            return None
        order, unit, rec_len = _MAGICS[struct.unpack_from("<I", buf)[0]]
        snaplen, link = struct.unpack_from(order + "II", buf, 16)
        return cls(order, unit, rec_len, link & LINKTYPE_MASK & 0xFFFF, snaplen)

    def take_skipped(self) -> int:
        return 0  # every pcap record is a frame

    @property
    def start_offset(self) -> int:
        return GLOBAL_HEADER_LEN

    def scan(self, buf: Buffer, off: int, limit: int) -> Scan:
        """Read up to ``limit`` records starting at ``off`` in ``buf``."""
        if _cscan is not None:
            return self._scan_c(buf, off, limit)
        return self._scan_py(buf, off, limit)

    def _scan_c(self, buf: Buffer, off: int, limit: int) -> Scan:
        assert _cscan is not None
        size = len(buf)
        stop = min(size, off + MAX_PIECE_BYTES)
        # every record is at least a header long: no more can start before ``stop``
        cap = max(0, min(limit, -(-(stop - off) // self.record_len)))
        offs = np.empty(cap, dtype=np.int64)
        ts = np.empty(cap, dtype=np.float64)
        caplen = np.empty(cap, dtype=np.int32)
        wirelen = np.empty(cap, dtype=np.int32)
        n, next_off, status = _cscan.scan_pcap(
            buf,
            off,
            stop,
            cap,
            self.order == ">",
            self.record_len,
            MAX_CAPLEN,
            self.frac_unit,
            offs,
            ts,
            caplen,
            wirelen,
        )
        if status == 2:
            got = int.from_bytes(buf[next_off + 8 : next_off + 12], "big" if self.order == ">" else "little")
            scan = Scan(None, next_off, Stop.CORRUPT, f"record caplen {got} > {MAX_CAPLEN}")
        elif status == 1:
            scan = Scan(None, next_off, Stop.PARTIAL)
        else:
            scan = Scan(None, next_off, _end_state(next_off, size, False))
        if n:
            scan.piece = Piece(
                data_off=offs[:n] + self.record_len,
                ts=ts[:n],
                caplen=caplen[:n],
                wirelen=wirelen[:n],
                linktype=np.full(n, self.linktype, dtype=np.uint16),
            )
        return scan

    def _scan_py(self, buf: Buffer, off: int, limit: int) -> Scan:
        size = len(buf)
        stop = min(size, off + MAX_PIECE_BYTES)
        rec_len = self.record_len
        caplen_at = 8
        unpack = struct.Struct(self.order + "I").unpack_from
        offs: list[int] = []
        app = offs.append
        short_header = False
        try:
            for _ in range(limit):
                if off >= stop:
                    break
                app(off)
                off += rec_len + unpack(buf, off + caplen_at)[0]
        except struct.error:
            offs.pop()  # its header runs past the buffer; ``off`` still points at it
            short_header = True
        n = len(offs)
        if n == 0:
            return Scan(None, off, _end_state(off, size, short_header))
        starts = np.array(offs, dtype=np.int64)
        ends = np.empty(n, dtype=np.int64)
        ends[:-1] = starts[1:]
        ends[-1] = off
        caplen = ends - starts - rec_len
        k = first_false((caplen <= MAX_CAPLEN) & (ends <= size))
        if k < n:
            bad = int(starts[k])
            if caplen[k] > MAX_CAPLEN:
                scan = Scan(None, bad, Stop.CORRUPT, f"record caplen {int(caplen[k])} > {MAX_CAPLEN}")
            else:
                scan = Scan(None, bad, Stop.PARTIAL)
            starts = starts[:k]
            if k == 0:
                return scan
        else:
            scan = Scan(None, off, _end_state(off, size, short_header))
        hdr = gather_u32(buf, starts, 4, self.order)
        scan.piece = Piece(
            data_off=starts + rec_len,
            ts=hdr[:, 0] + hdr[:, 1] * self.frac_unit,
            caplen=hdr[:, 2].astype(np.int32),
            wirelen=np.minimum(hdr[:, 3], 0x7FFFFFFF).astype(np.int32),
            linktype=np.full(starts.shape[0], self.linktype, dtype=np.uint16),
        )
        return scan


def _end_state(off: int, size: int, short_header: bool) -> Stop:
    if short_header:
        return Stop.PARTIAL
    return Stop.END if off >= size else Stop.MORE
