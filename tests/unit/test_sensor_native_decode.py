"""The optional C decoder (_fastdecode.c) is an optimisation only: fast_decode with it gives exactly
the columns, accepted frames and slow-path frames of the numpy fast path alone (its fallback), on
generated and mutated frames of every link type it handles and on every real test capture. Also:
the sensor workers' decode-and-select equals decode then filter."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.layers.vxlan import VXLAN as VXLANHeader
from wardwatch.ingest.capture.batch import RawBatch
from wardwatch.ingest.decode import DecodeConfig, Decoder, fastpath
from wardwatch.ingest.sensor import column_share, flow_share

from wardwatch.counters import Counters

from .test_decode_fast_slow import TEMPLATES, mutated_frames, pcaps
from .test_decode_support import assert_same, read_pcap

needs_native = pytest.mark.skipif(not fastpath.native_available(), reason="_fastdecode not built")

CONFIG = DecodeConfig()
PORTS = CONFIG.tunnel_ports()
VXLAN = tuple(CONFIG.vxlan_ports)


def both(raw: RawBatch, tunnels: bool = True) -> int:
    """Decode with and without the C pass; assert identical results; return frames accepted."""
    args = (raw.buf, raw.offset, raw.caplen, raw.linktype, PORTS, VXLAN, tunnels)
    c_cols, c_done, c_slow, c_outer = fastpath.fast_decode(*args, native=True)
    n_cols, n_done, n_slow, n_outer = fastpath.fast_decode(*args, native=False)
    np.testing.assert_array_equal(c_done, n_done)
    np.testing.assert_array_equal(c_slow, n_slow)
    for name, _ in fastpath.COLUMNS:
        np.testing.assert_array_equal(c_cols[name][c_done], n_cols[name][n_done], err_msg=name)
    # the encapsulating UDP rows (VXLAN) too: same frames, same values
    assert (c_outer is None) == (n_outer is None)
    if c_outer is not None and n_outer is not None:
        np.testing.assert_array_equal(c_outer.frames, n_outer.frames)
        np.testing.assert_array_equal(c_outer.encap, n_outer.encap)
        assert c_done[c_outer.frames].all()
        for name, _ in fastpath.COLUMNS:
            np.testing.assert_array_equal(c_outer.cols[name], n_outer.cols[name], err_msg=name)
    return int(c_done.sum())


def frames_for(linktype: int, frames: list[bytes]) -> list[bytes]:
    """Ethernet templates re-framed for another link type."""
    if linktype in (101, 12, 14, 228, 229):
        return [f[14:] for f in frames]
    if linktype == 113:
        return [bytes(14) + f[12:] for f in frames]  # SLL: protocol where Ethernet's type was
    return frames


@needs_native
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated_frames(), min_size=1, max_size=40), st.sampled_from([1, 101, 113, 12, 228, 229]))
def test_native_equals_numpy_on_mutated_frames(frames: list[bytes], linktype: int) -> None:
    frames = frames_for(linktype, frames)
    both(RawBatch.from_frames([(float(i), f) for i, f in enumerate(frames)], linktype))


ORDINARY = [
    bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1000, dport=80, flags="PA") / b"GET /"),
    bytes(Ether() / Dot1Q(vlan=7) / IP() / UDP(sport=53, dport=5353) / b"dns"),
    bytes(Ether() / IP() / ICMP(type=8, code=0) / b"ping"),
    bytes(Ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / TCP(flags="S")),
    bytes(Ether() / IPv6() / ICMPv6EchoRequest(data=b"e")),
    bytes(Ether() / IP(proto=17) / struct.pack(">HHHH", 1, 2, 7, 0)),  # UDP length below 8
    bytes(Ether() / IP() / TCP(dataofs=4)),  # TCP header length below 20
]


@needs_native
@pytest.mark.parametrize("linktype", [1, 101, 113])
def test_native_equals_numpy_at_every_length(linktype: int) -> None:
    frames: list[bytes] = []
    for template in [*ORDINARY, *TEMPLATES]:
        frames += [template[:n] for n in range(len(template) + 1)]
        frames += [template + bytes(n) for n in (1, 7, 40)]  # trailer beyond the IP length
    frames = frames_for(linktype, frames)
    assert both(RawBatch.from_frames([(float(i), f) for i, f in enumerate(frames)], linktype)) > 0


@needs_native
def test_native_takes_ordinary_frames_and_leaves_tunnels_to_numpy() -> None:
    vxlan = bytes(
        Ether() / IP() / UDP(sport=1234, dport=4789) / (b"\x08" + bytes(7)) / Ether() / IP() / TCP()
    )
    raw = RawBatch.from_frames([(1.0, ORDINARY[0]), (2.0, vxlan)])
    cols = fastpath.empty_columns(2)
    done = np.zeros(2, dtype=bool)
    bitmap = fastpath._port_bitmap(PORTS)
    columns = tuple(cols[name] for name, _ in fastpath.COLUMNS)
    accepted = fastpath._native.decode_frames(
        raw.buf, raw.offset, raw.caplen, raw.linktype, bitmap, columns, done
    )
    assert accepted == 1 and done.tolist() == [True, False]
    assert (cols["sport"][0], cols["dport"][0], cols["tcp_flags"][0]) == (1000, 80, 0x18)
    assert both(raw) == 2  # numpy opened the tunnel


@needs_native
def test_native_rejects_frames_running_past_the_buffer() -> None:
    raw = RawBatch.from_frames([(1.0, ORDINARY[0])])
    raw.caplen[0] += 10  # caplen says more than the buffer holds
    cols = fastpath.empty_columns(1)
    done = np.zeros(1, dtype=bool)
    columns = tuple(cols[name] for name, _ in fastpath.COLUMNS)
    fastpath._native.decode_frames(raw.buf, raw.offset, raw.caplen, raw.linktype, bytes(8192), columns, done)
    assert not done[0]


@needs_native
def test_native_checks_its_arguments() -> None:
    raw = RawBatch.from_frames([(1.0, ORDINARY[0])])
    cols = fastpath.empty_columns(2)  # one row too many
    done = np.zeros(1, dtype=bool)
    columns = tuple(cols[name] for name, _ in fastpath.COLUMNS)
    with pytest.raises(ValueError):
        fastpath._native.decode_frames(
            raw.buf, raw.offset, raw.caplen, raw.linktype, bytes(8192), columns, done
        )


def _native_args(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
    cols = fastpath.empty_columns(n)
    return (
        np.zeros(n, np.int64),
        np.full(n, 60, np.int32),
        np.ones(n, np.uint16),
        [cols[name] for name, _ in fastpath.COLUMNS],
        np.zeros(n, dtype=bool),
    )


@needs_native
def test_native_skips_offsets_whose_end_would_overflow() -> None:
    """offset + caplen wrapped negative for an offset near 2**63 and passed the bounds check: the
    frame was then read from a wild address (a segfault)."""
    buf = bytes(ORDINARY[0]) + bytes(64)
    offset, caplen, linktype, columns, done = _native_args(4)
    offset[:] = [2**63 - 10, 2**63 - 1, 2**62, len(buf) - 10]
    caplen[:] = [100, 2**31 - 1, 2**31 - 1, 60]
    accepted = fastpath._native.decode_frames(
        buf, offset, caplen, linktype, bytes(8192), tuple(columns), done
    )
    assert accepted == 0 and not done.any()


@needs_native
@pytest.mark.parametrize(
    "which", ["offset", "caplen", "linktype", "done", "src_hi", "sport", "vlan", "tcp_seq"]
)
@pytest.mark.parametrize(
    "dtype", [np.float64, np.int64, np.uint64, np.int32, np.int16, np.uint8, ">u2", ">i8"]
)
def test_native_wrong_dtype_is_a_type_error(which: str, dtype: object) -> None:
    """A wrong dtype was read (or written) as raw memory of the expected one: garbage, no error."""
    buf = ORDINARY[0]
    offset, caplen, linktype, columns, done = _native_args(1)
    names = [name for name, _ in fastpath.COLUMNS]
    arrays = {"offset": offset, "caplen": caplen, "linktype": linktype, "done": done}
    arrays.update(zip(names, columns, strict=True))
    expected = arrays[which].dtype
    wrong = np.dtype(dtype)  # type: ignore[call-overload]
    if wrong == expected or (which == "done" and wrong == np.uint8):  # uint8 is fine for the bool flags
        return
    arrays[which] = np.zeros(1, wrong)
    with pytest.raises(TypeError):
        fastpath._native.decode_frames(
            buf,
            arrays["offset"],
            arrays["caplen"],
            arrays["linktype"],
            bytes(8192),
            tuple(arrays[name] for name in names),
            arrays["done"],
        )
    assert not done.any()


@needs_native
def test_native_refuses_misaligned_and_mismatched_arrays() -> None:
    buf = ORDINARY[0]
    offset, caplen, linktype, columns, done = _native_args(1)
    caplen[0] = len(buf)
    misaligned = np.frombuffer(bytearray(9), np.int64, 1, offset=1)
    with pytest.raises(ValueError):
        fastpath._native.decode_frames(buf, misaligned, caplen, linktype, bytes(8192), tuple(columns), done)
    with pytest.raises(ValueError):  # caplen one row short
        fastpath._native.decode_frames(buf, offset, caplen[:0], linktype, bytes(8192), tuple(columns), done)
    with pytest.raises(ValueError):  # the port bitmap must be 8192 bytes
        fastpath._native.decode_frames(buf, offset, caplen, linktype, bytes(8191), tuple(columns), done)
    assert (
        fastpath._native.decode_frames(buf, offset, caplen, linktype, bytes(8192), tuple(columns), done) == 1
    )


@needs_native
def test_native_equals_numpy_on_every_test_capture() -> None:
    files = pcaps()
    accepted = 0
    for path in files:
        raw = read_pcap(path)
        if len(raw):
            for tunnels in (True, False):
                accepted += both(raw, tunnels)
    assert accepted > 1000


def test_decode_selected_equals_decode_then_filter() -> None:
    frames = [
        bytes(Ether() / IP(src=f"10.0.{i % 5}.1", dst="10.9.9.9") / TCP(sport=1000 + i % 7, dport=443))
        for i in range(200)
    ]
    frames += [bytes(Ether(type=0x0806) / bytes(28))]  # no IP: no row, and not in the clock
    # UDP tunnels: the encapsulating packet's row hashes to its own share (VXLAN on the fast path,
    # Geneve on the slow one, and a VXLAN frame whose inner ARP gives no row of its own)
    outer = Ether() / IP(src="10.7.0.1", dst="10.7.0.2")
    frames += [
        bytes(outer / UDP(sport=40000 + i, dport=4789) / VXLANHeader() / Ether() / IP(src="10.1.0.1", dst=f"10.2.0.{i}")
              / TCP(sport=1000 + i, dport=80))
        for i in range(12)
    ]  # fmt: skip
    frames += [
        bytes(outer / UDP(sport=50000 + i, dport=6081) / struct.pack("!BBHI", 0, 0, 0x0800, 7 << 8)
              / IP(src="10.3.0.1", dst=f"10.4.0.{i}") / UDP(sport=5000, dport=53))
        for i in range(12)
    ]  # fmt: skip
    frames += [bytes(outer / UDP(sport=4000, dport=4789) / VXLANHeader() / Ether() / ARP())]
    raw = RawBatch.from_frames([(float(i), f) for i, f in enumerate(frames)])
    whole_counters = Counters()
    whole = Decoder(whole_counters, DecodeConfig()).decode(raw)
    assert int((whole.encap != 0).sum()) == 25
    for share in range(3):
        counters = Counters()
        picked, rows, latest = Decoder(counters, DecodeConfig()).decode_selected(
            raw, lambda cols, s=share: column_share(cols, 3) == s
        )
        assert (rows, latest) == (225, float(len(frames) - 1))
        assert_same(picked, whole.take(flow_share(whole, 3) == share))
        assert counters == whole_counters  # the selection counts nothing of its own
