"""pcapng files: sections, interfaces and packet blocks into columns.

The Python loop only walks block headers (type, length) and notes where packet blocks (EPB, SPB,
OPB) start; their fields are gathered afterwards with numpy. A scan stops before a section header
or an interface description block once it holds packets, so every packet in one scan shares one
byte order and one interface table. Name resolution, statistics, decryption secrets, custom and
unknown blocks are skipped. Our own code: dpkt/scapy build an object per block and are far slower.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from .piece import MAX_CAPLEN, MAX_PIECE_BYTES, Buffer, Piece, Scan, Stop, first_false, gather_u32

SHB = 0x0A0D0D0A
IDB = 0x00000001
OPB = 0x00000002  # obsolete packet block
SPB = 0x00000003
EPB = 0x00000006
# Wireshark numbers these as frames too (custom blocks, systemd journal entries): we skip them
# but count them, so ``frame`` stays tshark's frame.number.
_NUMBERED_BLOCKS = (0x00000BAD, 0x40000BAD, 0x00000009)
_BOUNDARIES = (SHB, IDB, *_NUMBERED_BLOCKS)  # a scan holding packets stops before these
_PACKETS = (EPB, SPB, OPB)
_BOM_LE = b"\x4d\x3c\x2b\x1a"
_BOM_BE = b"\x1a\x2b\x3c\x4d"
# Block lengths of 16 MiB or more, or not a multiple of 4, are corrupt (one AND tests both).
_BAD_LEN_BITS = 0xFF000003
_OPT_TSRESOL = 9
_OPT_TSOFFSET = 14


def is_pcapng(head: bytes) -> bool:
    return len(head) >= 4 and head[:4] == b"\x0a\x0d\x0d\x0a"


@dataclass
class Interface:
    linktype: int
    snaplen: int
    divisor: int = 1_000_000  # timestamp units per second (if_tsresol)
    offset: int = 0  # seconds added to every timestamp (if_tsoffset)


@dataclass
class PcapngParser:
    order: str = "<"
    interfaces: list[Interface] = field(default_factory=list)
    last_ts: float = 0.0  # a simple packet block has no timestamp: it reuses the previous one
    skipped_records: int = 0  # numbered non-packet blocks passed since the driver last asked
    _sections: int = 0

    @classmethod
    def from_header(cls, buf: bytes) -> PcapngParser | None:
        """Check the first section header is readable; None when this is not a usable pcapng file."""
        if len(buf) < 28 or not is_pcapng(buf[:4]):
            return None
        if buf[8:12] not in (_BOM_LE, _BOM_BE):
            return None
        return cls()

    @property
    def start_offset(self) -> int:
        return 0

    def scan(self, buf: Buffer, off: int, limit: int) -> Scan:
        """Walk blocks from ``off`` and return up to ``limit`` packets sharing one section/interface set."""
        size = len(buf)
        stop = min(size, off + MAX_PIECE_BYTES)
        header = struct.Struct(self.order + "II").unpack_from
        offs: list[int] = []
        app = offs.append
        n = 0
        result: Scan | None = None
        while True:
            if off >= stop:
                result = Scan(None, off, Stop.END if off >= size else Stop.MORE)
                break
            if off + 12 > size:
                result = Scan(None, off, Stop.PARTIAL)
                break
            btype, blen = header(buf, off)
            if btype in _PACKETS:
                if blen & _BAD_LEN_BITS or blen < 16:
                    result = Scan(None, off, Stop.CORRUPT, f"packet block length {blen}")
                    break
                if off + blen > size:
                    result = Scan(None, off, Stop.PARTIAL)
                    break
                app(off)
                off += blen
                n += 1
                if n >= limit:
                    result = Scan(None, off, Stop.END if off >= size else Stop.MORE)
                    break
                continue
            if n and btype in _BOUNDARIES:
                result = Scan(None, off, Stop.MORE)  # the packets so far keep the old tables
                break
            other = self._other_block(buf, off, btype)
            if isinstance(other, Scan):
                result = other
                break
            off = other
            if btype == SHB:
                header = struct.Struct(self.order + "II").unpack_from
        if n:
            self._columns(buf, offs, result)
        return result

    def take_skipped(self) -> int:
        n, self.skipped_records = self.skipped_records, 0
        return n

    def _other_block(self, buf: Buffer, off: int, btype: int) -> int | Scan:
        """Handle a non-packet block; the offset after it, or a Scan that stops the walk."""
        size = len(buf)
        if btype == SHB:
            bom = bytes(buf[off + 8 : off + 12])
            if len(bom) < 4:
                return Scan(None, off, Stop.PARTIAL)
            if bom not in (_BOM_LE, _BOM_BE):
                return Scan(None, off, Stop.CORRUPT, "bad byte-order magic in section header")
            order = "<" if bom == _BOM_LE else ">"
            (blen,) = struct.unpack_from(order + "I", buf, off + 4)
        else:
            order = self.order
            (blen,) = struct.unpack_from(order + "I", buf, off + 4)
        if blen & _BAD_LEN_BITS or blen < 12:
            return Scan(None, off, Stop.CORRUPT, f"block length {blen}")
        if off + blen > size:
            return Scan(None, off, Stop.PARTIAL)
        (trailer,) = struct.unpack_from(order + "I", buf, off + blen - 4)
        if trailer != blen:
            return Scan(None, off, Stop.CORRUPT, f"block lengths differ ({blen} / {trailer})")
        if btype == SHB:
            if blen < 28 or struct.unpack_from(order + "H", buf, off + 12)[0] != 1:
                return Scan(None, off, Stop.CORRUPT, "unsupported section header")
            self.order = order
            self.interfaces = []
            self._sections += 1
        elif btype == IDB:
            if blen < 20:
                return Scan(None, off, Stop.CORRUPT, "interface block too short")
            self.interfaces.append(self._interface(buf, off, blen))
        elif btype in _NUMBERED_BLOCKS:
            self.skipped_records += 1
        return off + blen

    def _interface(self, buf: Buffer, off: int, blen: int) -> Interface:
        o = self.order
        link, _, snaplen = struct.unpack_from(o + "HHI", buf, off + 8)
        iface = Interface(link, snaplen)
        pos, end = off + 16, off + blen - 4
        while pos + 4 <= end:
            code, length = struct.unpack_from(o + "HH", buf, pos)
            if code == 0:
                break
            value = pos + 4
            if value + length > end:
                break
            if code == _OPT_TSRESOL and length >= 1:
                r = buf[value]
                iface.divisor = 2 ** (r & 0x7F) if r & 0x80 else 10**r
            elif code == _OPT_TSOFFSET and length >= 8:
                iface.offset = struct.unpack_from(o + "q", buf, value)[0]
            pos = value + ((length + 3) & ~3)
        return iface

    def _columns(self, buf: Buffer, offs: list[int], result: Scan) -> None:
        """Gather the packet blocks' fields; cut at the first invalid one (which ends the file)."""
        o = self.order
        starts = np.array(offs, dtype=np.int64)
        w = gather_u32(buf, starts, 7, o).astype(np.int64)
        btype, blen = w[:, 0], w[:, 1]
        trailer = gather_u32(buf, starts + blen - 4, 1, o)[:, 0]
        is_spb = btype == SPB
        is_opb = btype == OPB
        # an obsolete packet block has a 16-bit interface id where the others have 32 bits
        opb_iface = w[:, 2] & 0xFFFF if o == "<" else w[:, 2] >> 16
        iface = np.where(is_opb, opb_iface, w[:, 2])
        iface[is_spb] = 0
        nif = len(self.interfaces)
        snap0 = self.interfaces[0].snaplen if nif and self.interfaces[0].snaplen else MAX_CAPLEN + 1
        caplen = np.where(is_spb, np.minimum(w[:, 2], snap0), w[:, 5])
        wirelen = np.where(is_spb, w[:, 2], w[:, 6])
        data_off = starts + np.where(is_spb, 12, 28)
        ok = (trailer == blen) & (iface < nif) & (caplen <= MAX_CAPLEN)
        ok &= np.where(is_spb, caplen <= blen - 16, (blen >= 32) & (caplen <= blen - 32))
        k = first_false(ok)
        if k < len(offs):
            reason = "packet block before any interface" if iface[k] >= nif else "bad packet block"
            result.piece, result.next_off, result.stop, result.reason = None, offs[k], Stop.CORRUPT, reason
            if k == 0:
                return
            sl = slice(0, k)
            w, iface, caplen, wirelen, data_off, is_spb = (
                w[sl],
                iface[sl],
                caplen[sl],
                wirelen[sl],
                data_off[sl],
                is_spb[sl],
            )
        ts = self._timestamps(w, iface, is_spb)
        links = np.array([i.linktype for i in self.interfaces], dtype=np.uint16)
        result.piece = Piece(
            data_off=data_off,
            ts=ts,
            caplen=caplen.astype(np.int32),
            wirelen=np.minimum(wirelen, 0x7FFFFFFF).astype(np.int32),
            linktype=links[iface],
        )

    def _timestamps(self, w: np.ndarray, iface: np.ndarray, is_spb: np.ndarray) -> np.ndarray:
        units = (w[:, 3].astype(np.uint64) << np.uint64(32)) | w[:, 4].astype(np.uint64)
        ts = np.empty(units.shape[0], dtype=np.float64)
        used = np.unique(iface)
        for i in used.tolist():
            sel = slice(None) if used.size == 1 else iface == i
            ifc = self.interfaces[i]
            u = units[sel]
            if ifc.divisor < 2**63:
                d = np.uint64(ifc.divisor)
                ts[sel] = (u // d).astype(np.float64) + (u % d).astype(np.float64) / ifc.divisor
            else:
                ts[sel] = u.astype(np.float64) / float(ifc.divisor)
            if ifc.offset:
                ts[sel] += ifc.offset
        if is_spb.any():
            idx = np.where(is_spb, -1, np.arange(ts.shape[0]))
            np.maximum.accumulate(idx, out=idx)
            ts = np.where(idx < 0, self.last_ts, ts[np.maximum(idx, 0)])
        self.last_ts = float(ts[-1])
        return ts
