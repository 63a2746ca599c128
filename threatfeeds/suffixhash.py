"""Vectorised suffix probing for bulk domain lookups (numpy), written here because a per-name Python
loop of label-split dict probes tops out near 300k names/s on these machines.

Every listed name is hashed with a 64-bit polynomial hash into an open-addressing table (linear
probing, at most 1/4 full). For a batch of query names, one prefix-sum over the joined bytes gives the
hash of every label suffix of every name at once (``H[p, e) = (P[e] - P[p]) * B^-p``), and the table is
probed for all of them together. The caller confirms each hit against the exact dict (hits are rare),
so a hash collision can never produce a false match.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_B = 0x100000001B3  # odd, so invertible mod 2**64
_B_INV = pow(_B, -1, 1 << 64)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_CHUNK = 32768  # names per batch: keeps the per-byte arrays in cache
_NL = 10
_DOT = 46


class _Powers:
    """B**j and B**-j (mod 2**64) for j < n, grown on demand."""

    def __init__(self) -> None:
        self.pow = np.ones(1, dtype=np.uint64)
        self.inv = np.ones(1, dtype=np.uint64)

    def upto(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.pow) < n:
            m = max(n, 2 * len(self.pow))
            one = np.ones(1, dtype=np.uint64)
            with np.errstate(over="ignore"):
                self.pow = np.concatenate((one, np.cumprod(np.full(m - 1, _B, dtype=np.uint64))))
                self.inv = np.concatenate((one, np.cumprod(np.full(m - 1, _B_INV, dtype=np.uint64))))
        return self.pow, self.inv


_POWERS = _Powers()


def _encode(names: Sequence[str]) -> tuple[np.ndarray, bytes] | None:
    """Lower-cased names joined by newlines, trailing dots dropped; None if a name holds a newline."""
    text = ("\n".join(names) + "\n").lower()
    if text.count("\n") != len(names):
        return None
    raw = text.encode("utf-8", "surrogateescape")
    b = np.frombuffer(raw, dtype=np.uint8)
    trailing = np.flatnonzero((b[:-1] == _DOT) & (b[1:] == _NL))
    if len(trailing):
        b = np.delete(b, trailing)
        raw = b.tobytes()
    return b, raw


def _suffix_hashes(b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For every label start: (position, end of its name, index of its name, hash of [position, end))."""
    nl = np.flatnonzero(b == _NL)
    name_start = np.empty(len(nl), dtype=np.int64)
    name_start[0:1] = 0
    name_start[1:] = nl[:-1] + 1
    dots = np.flatnonzero(b == _DOT) + 1
    pos = np.concatenate((name_start, dots))
    pos.sort(kind="stable")
    which = np.searchsorted(nl, pos, side="left")
    end = nl[which]
    pw, inv = _POWERS.upto(len(b) + 1)
    with np.errstate(over="ignore"):
        prefix = np.zeros(len(b) + 1, dtype=np.uint64)
        np.cumsum(b.astype(np.uint64) * pw[: len(b)], out=prefix[1:])
        h = (prefix[end] - prefix[pos]) * inv[pos]
    return pos, end, which, h


def hash_names(names: Sequence[str]) -> np.ndarray:
    """The hash of each (already normalised) name, as the table stores it."""
    out = np.empty(len(names), dtype=np.uint64)
    for i in range(0, len(names), _CHUNK):
        chunk = names[i : i + _CHUNK]
        b = np.frombuffer(("\n".join(chunk) + "\n").encode("utf-8", "surrogateescape"), dtype=np.uint8)
        nl = np.flatnonzero(b == _NL)
        start = np.zeros(len(nl), dtype=np.int64)
        start[1:] = nl[:-1] + 1
        pw, inv = _POWERS.upto(len(b) + 1)
        with np.errstate(over="ignore"):
            prefix = np.zeros(len(b) + 1, dtype=np.uint64)
            np.cumsum(b.astype(np.uint64) * pw[: len(b)], out=prefix[1:])
            out[i : i + len(chunk)] = (prefix[nl] - prefix[start]) * inv[start]
    return out


class SuffixHashTable:
    """Open-addressing table of name hashes with a small flag byte per name (-1 marks an empty slot)."""

    def __init__(self, hashes: np.ndarray, flags: np.ndarray) -> None:
        n = len(hashes)
        bits = max(4, int(4 * max(n, 1) - 1).bit_length())
        self.bits = bits
        self.mask = (1 << bits) - 1
        self.keys = np.zeros(1 << bits, dtype=np.uint64)
        self.flags = np.full(1 << bits, -1, dtype=np.int8)
        slot = self._slot(hashes)
        pending = np.arange(n)
        while len(pending):
            s = slot[pending]
            free = self.flags[s] < 0
            cand, cs = pending[free], s[free]
            uniq, first = np.unique(cs, return_index=True)
            winners = cand[first]
            self.keys[uniq] = hashes[winners]
            self.flags[uniq] = flags[winners]
            placed = np.zeros(n, dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slot[pending] = (slot[pending] + 1) & self.mask

    def _slot(self, h: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((h * _MIX) >> np.uint64(64 - self.bits)).astype(np.int64)

    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.flags.nbytes)

    def get(self, h: np.ndarray) -> np.ndarray:
        """Flag byte for each hash, or -1 where the table does not hold it."""
        out = np.full(len(h), -1, dtype=np.int8)
        slot = self._slot(h)
        active = np.arange(len(h))
        while len(active):
            s = slot[active]
            f = self.flags[s]
            hit = (f >= 0) & (self.keys[s] == h[active])
            out[active[hit]] = f[hit]
            active = active[(f >= 0) & ~hit]
            slot[active] = (slot[active] + 1) & self.mask
        return out

    def probe(
        self, names: Sequence[str], exact_flag: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bytes] | None:
        """Most specific candidate per name: (name rows, start, end of the listed suffix in ``raw``,
        flags, ``raw`` the joined bytes), or None when the batch cannot be joined (a name holds a newline).

        A suffix shorter than the whole name counts only if its flags lack ``exact_flag``.
        """
        enc = _encode(names)
        if enc is None:
            return None
        b, raw = enc
        pos, end, which, h = _suffix_hashes(b)
        f = self.get(h)
        is_whole = np.empty(len(pos), dtype=bool)
        is_whole[0:1] = True
        is_whole[1:] = which[1:] != which[:-1]
        ok = (f >= 0) & (is_whole | ((f & exact_flag) == 0))
        idx = np.flatnonzero(ok)
        rows, first = np.unique(which[idx], return_index=True)
        sel = idx[first]
        return rows, pos[sel], end[sel], f[sel], raw
