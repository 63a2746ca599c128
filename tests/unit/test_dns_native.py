"""The C DNS decoder (ingest/dns/_dnswire.c) against wire.py's Python decoder, its checked fallback.

Both must give the same Message, field by field and type by type (compared by repr: True is not 1,
a tuple is not a list), for valid, mutated, truncated and hostile messages, with the same fault
reason, fault section and partial sections; and the same dns records through the tracker on every
test capture and on the DNS query flood storm shape. The existing DNS tests run on both decoders
too: ``WARDWATCH_DNS_PYTHON=1`` forces the Python one.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wardwatch.ingest.capture import read_captures
from wardwatch.ingest.decode import DecodeConfig, Decoder
from wardwatch.ingest.decode.columns import PacketBatch
from wardwatch.ingest.dns import DnsConfig, DnsTracker
from wardwatch.ingest.dns import wire as wire_module
from wardwatch.ingest.dns.extract import DnsSelector, MessageExtractor
from wardwatch.ingest.flows import FlowConfig, FlowMeter
from wardwatch.tools.gen_storm import generate

from tests.conftest import testdata_path as _testdata
from wardwatch.counters import Counters

native = wire_module._native
pytestmark = pytest.mark.skipif(
    native is None,
    reason="the C DNS decoder is not in use (not built, or WARDWATCH_DNS_PYTHON=1): nothing to compare",
)


def assert_same(wire: bytes) -> list[object]:
    """Both decoders at every section depth; returns the Python results."""
    assert native is not None
    out = []
    for sections in (1, 2, 3):
        expected = wire_module.decode_message_py(wire, sections)
        got = native.decode(wire, sections)
        assert repr(got) == repr(expected), (wire.hex(), sections)
        assert got == expected
        out.append(expected)
    return out


# -- generated messages ----------------------------------------------------------------------------

RTYPES = [1, 2, 5, 6, 10, 12, 13, 15, 16, 28, 29, 33, 41, 43, 44, 46, 47, 48, 50, 64, 65, 99, 257, 65534]

labels = st.lists(
    st.one_of(
        st.binary(min_size=1, max_size=12),  # any bytes: upper case, dots, controls, high bytes
        st.text("abcXYZ019-_", min_size=1, max_size=63).map(str.encode),
    ),
    max_size=5,
)
# a name: labels, then the root label or a pointer to a fraction of what was written so far
names = st.tuples(labels, st.one_of(st.none(), st.floats(0, 1.2)))


class Writer:
    def __init__(self) -> None:
        self.buf = bytearray()

    def name(self, spec: tuple[list[bytes], float | None], base: int = 0) -> None:
        parts, pointer = spec
        for label in parts:
            self.buf += bytes([len(label)]) + label
        if pointer is None:
            self.buf.append(0)
        else:
            target = int(pointer * (base + len(self.buf))) & 0x3FFF
            self.buf += struct.pack("!H", 0xC000 | target)


@st.composite
def rdata(draw: st.DrawFn, rtype: int, base: int) -> bytes:
    """Rdata for ``rtype``, mostly well formed; ``base`` is its offset in the message (for pointers)."""
    w = Writer()
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=40))  # anything at all
    if rtype == 1:
        return draw(st.binary(min_size=4, max_size=4))
    if rtype == 28:
        return draw(
            st.one_of(
                st.binary(min_size=16, max_size=16),
                st.binary(min_size=4, max_size=4).map(lambda v4: b"\x00" * 10 + b"\xff\xff" + v4),
            )
        )
    if rtype in (2, 5, 12, 47):
        w.name(draw(names), base)
    elif rtype == 15:
        w.buf += struct.pack("!H", draw(st.integers(0, 65535)))
        w.name(draw(names), base)
    elif rtype in (16, 99):
        for s in draw(st.lists(st.binary(max_size=20), max_size=3)):
            w.buf += bytes([len(s)]) + s
    elif rtype == 6:
        w.name(draw(names), base)
        w.name(draw(names), base)
        w.buf += draw(st.binary(min_size=18, max_size=22))
    elif rtype == 33:
        w.buf += draw(st.binary(min_size=6, max_size=6))
        w.name(draw(names), base)
    elif rtype in (64, 65):
        w.buf += struct.pack("!H", draw(st.integers(0, 3)))
        w.name(draw(names), base)
        for key, value in draw(st.lists(st.tuples(st.integers(0, 65535), st.binary(max_size=8)), max_size=3)):
            w.buf += struct.pack("!HH", key, len(value)) + value
    elif rtype == 46:
        w.buf += draw(st.binary(min_size=18, max_size=18))
        w.name(draw(names), base)
    elif rtype == 41:
        for code, value in draw(
            st.lists(st.tuples(st.integers(0, 65535), st.binary(max_size=8)), max_size=3)
        ):
            w.buf += struct.pack("!HH", code, len(value)) + value
    else:
        w.buf += draw(st.binary(max_size=24))
    return bytes(w.buf)


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    w = Writer()
    questions = draw(st.lists(st.tuples(names, st.integers(0, 65535), st.integers(0, 65535)), max_size=3))
    sections = [draw(st.lists(st.tuples(names, st.sampled_from(RTYPES)), max_size=4)) for _ in range(3)]
    counts = [len(questions), *(len(s) for s in sections)]
    if draw(st.integers(0, 4)) == 0:  # counts that do not match the body
        counts = [draw(st.sampled_from([0, 1, 2, 5, 25, 26, 255, 65535])) for _ in range(4)]
    w.buf += struct.pack("!6H", draw(st.integers(0, 65535)), draw(st.integers(0, 65535)), *counts)
    for name, qtype, qclass in questions:
        w.name(name)
        w.buf += struct.pack("!HH", qtype, qclass)
    for section in sections:
        for name, rtype in section:
            w.name(name)
            data = draw(rdata(rtype, len(w.buf) + 10))
            rdlen = len(data)
            if draw(st.integers(0, 9)) == 0:
                rdlen = draw(st.integers(0, 65535))  # a length that lies
            w.buf += (
                struct.pack(
                    "!HHIH",
                    rtype,
                    draw(st.sampled_from([1, 3, 255, 512, 4096])),
                    draw(st.sampled_from([0, 60, 0x80008000, 0xFFFFFFFF])),
                    rdlen,
                )
                + data
            )
    return bytes(w.buf)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    buf = bytearray(draw(messages()))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.integers(0, 3))
        if not buf:
            break
        at = draw(st.integers(0, len(buf) - 1))
        if kind == 0:  # truncation
            del buf[at:]
        elif kind == 1:  # a byte flip
            buf[at] = draw(st.integers(0, 255))
        elif kind == 2:  # a pointer to itself, forward, or anywhere
            target = draw(st.sampled_from([at, at + 2, 12, 0x3FFF, draw(st.integers(0, 0x3FFF))]))
            buf[at : at + 2] = struct.pack("!H", 0xC000 | (target & 0x3FFF))
        else:  # a label length that cannot be
            buf[at] = draw(st.sampled_from([63, 64, 127, 191, 255]))
    return bytes(buf)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_generated_messages_decode_the_same(wire: bytes) -> None:
    assert_same(wire)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_and_truncated_messages_decode_the_same(wire: bytes) -> None:
    assert_same(wire)


# -- hostile messages, by hand -----------------------------------------------------------------------


def header(qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0, flags: int = 0x8180) -> bytes:
    return struct.pack("!6H", 0x1234, flags, qd, an, ns, ar)


def test_pointer_chains_at_the_hop_cap() -> None:
    """Each answer's owner points at the answer before it. wire.py's per-message cache answers a
    pointer to a name it decoded (but not to one it took from the cache), so the chain reaches 64
    hops at the 64th answer, the 65th is served from the cache, and the 66th needs 66: a loop."""
    buf = bytearray(header(an=70)) + b"\x01a\x00\x00\x01\x00\x01"
    prev = 12
    for _ in range(70):
        start = len(buf)
        buf += struct.pack("!HHHIH", 0xC000 | prev, 10, 1, 0, 0)
        prev = start
    msg = assert_same(bytes(buf))[2]
    assert msg is not None
    assert msg.error == "name_pointer_loop" and msg.error_section == 2  # type: ignore[attr-defined]
    assert len(msg.answers) == 65 and {rr.name for rr in msg.answers} == {"a"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"\xc0\x0c\x00\x01\x00\x01", "name_forward_pointer"),  # a pointer to itself
        (b"\xc0\x0e\x00\x01\x00\x01", "name_forward_pointer"),
        (b"\x01a\xc0\x0c\x00\x01\x00\x01", "name_truncated"),  # a loop: back to its own first label
        (b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01", "name_bad_label"),
        (b"\x05ab", "name_truncated"),
        (b"\x01a\xc0", "name_truncated"),
        (b"\x01a\x00\x00", "question_truncated"),
        ((b"\x3f" + b"a" * 63) * 8 + b"\x00\x00\x01\x00\x01", None),  # 512 bytes: the longest
        ((b"\x3f" + b"a" * 63) * 8 + b"\x01b\x00\x00\x01\x00\x01", "name_too_long"),
    ],
)
def test_hostile_names_give_the_same_fault(body: bytes, reason: str | None) -> None:
    msg = assert_same(header() + body)[0]
    assert msg is not None and msg.error == reason  # type: ignore[attr-defined]


def test_long_name_with_escaped_bytes() -> None:
    longest = (b"\x3f" + b"A" * 63) * 7 + b"\x3e" + b"\x00\x7f." * 20 + b"xy" + b"\x00"
    msg = assert_same(header() + longest + b"\x00\x01\x00\x01")[0]
    assert msg is not None and msg.error is None  # type: ignore[attr-defined]
    name = msg.questions[0].name  # type: ignore[attr-defined]
    assert name.startswith("a" * 63 + ".") and "\\x00\\x7f." in name


def test_too_many_questions_and_short_messages() -> None:
    assert assert_same(b"\x00" * 11) == [None, None, None]
    msg = assert_same(header(qd=26) + b"\x00\x00\x01\x00\x01")[0]
    assert msg is not None and msg.error == "too_many_questions" and not msg.questions  # type: ignore[attr-defined]


def test_soa_authority_and_truncated_additional_keep_what_decoded() -> None:
    """An NXDOMAIN's authority SOA (auth / auth_zone) survives a fault later in the additional section."""
    q = b"\x03xyz\x07example\x03com\x00\x00\x01\x00\x01"
    soa_data = b"\x02ns\xc0\x10" + b"\x01h\xc0\x10" + struct.pack("!5I", 1, 2, 3, 4, 5)
    soa = b"\xc0\x10" + struct.pack("!HHIH", 6, 1, 3600, len(soa_data)) + soa_data
    opt = b"\x00" + struct.pack("!HHIH", 41, 4096, 0x8000, 6) + b"\x00\x0a\x00\x08ab"  # option overruns rdata
    msg = assert_same(header(an=0, ns=1, ar=1, flags=0x8183) + q + soa + opt)[2]
    assert msg is not None
    assert msg.authority[0].data == ("ns.example.com", "h.example.com", 1, 2, 3, 4, 5)  # type: ignore[attr-defined]
    assert msg.error == "edns_option_truncated" and msg.error_section == 4  # type: ignore[attr-defined]


def test_the_classes_must_be_plainly_slotted() -> None:
    """bind() refuses a class whose fields are not writable object slots (wire.py then keeps Python)."""
    assert native is not None

    class Loose:
        pass

    with pytest.raises(TypeError):
        native.bind(Loose, wire_module.Question, wire_module.ResourceRecord, wire_module.Edns)
    native.bind(wire_module.Message, wire_module.Question, wire_module.ResourceRecord, wire_module.Edns)
    assert_same(header() + b"\x01a\x00\x00\x01\x00\x01")


# -- captures: every test capture, and the DNS query flood ---------------------------------------------


def _batches(path: Path) -> list[PacketBatch]:
    counters = Counters()
    decoder = Decoder(counters, DecodeConfig())
    return [decoder.decode(raw) for raw in read_captures([str(path)], counters, batch_frames=4096)]


def _tracker_run(batches: list[PacketBatch], python_decoder: bool) -> tuple[list[dict], dict]:
    meter, counters = FlowMeter(Counters(), FlowConfig()), Counters()
    tracker = DnsTracker(counters, DnsConfig(), python_decoder=python_decoder)
    records: list[dict] = []
    for batch in batches:
        records += tracker.process(batch, meter.process(batch), meter)
        now = float(batch.ts.max()) if len(batch) else 0.0
        records += tracker.expire(now)
        meter.expire(now)
    records += tracker.flush()
    return records, dict(counters)


def _wires(batches: list[PacketBatch]) -> list[bytes]:
    config = DnsConfig()
    extractor, selector = MessageExtractor(config, Counters()), DnsSelector(config)
    out = []
    for batch in batches:
        idx = selector.rows(batch)
        keys = list(
            zip(batch.sport[idx].tolist(), batch.dport[idx].tolist(), batch.src_lo[idx].tolist(), strict=True)
        )
        out += [w for _, w in extractor.extract(batch, idx, keys)]
    return out


def test_every_test_capture_decodes_the_same() -> None:
    root = _testdata()
    paths = sorted(p for p in root.rglob("*") if p.suffix in (".pcap", ".pcapng", ".cap") and p.is_file())
    assert paths
    messages = faults = records = 0
    for path in paths:
        batches = _batches(path)
        for wire in _wires(batches):
            msg = assert_same(wire)[2]
            messages += msg is not None
            faults += msg is not None and msg.error is not None  # type: ignore[attr-defined]
        native_out, python_out = _tracker_run(batches, False), _tracker_run(batches, True)
        assert native_out == python_out, path
        records += len(native_out[0])
    assert messages > 400 and faults > 0 and records > 250  # the material holds DNS, some of it malformed


def test_dns_query_flood_gives_the_same_records(tmp_path: Path) -> None:
    path = tmp_path / "dnsflood.pcap"
    generate("dnsflood", 20_000, path)
    batches = _batches(path)
    native_out, python_out = _tracker_run(batches, False), _tracker_run(batches, True)
    assert native_out == python_out
    assert sum(r.get("rcode_name") == "NXDOMAIN" for r in native_out[0]) > 9000


def test_sensor_output_is_the_same_with_the_python_decoder(tmp_path: Path) -> None:
    """End to end: `wardwatch sensor` on the flood and on a suricata-verify DNS capture, byte for byte."""
    flood = tmp_path / "dnsflood.pcap"
    generate("dnsflood", 4_000, flood)
    captures = [flood, *sorted(_testdata("suricata-verify").rglob("*.pcap"))[:40]]
    outs = []
    for force_python in ("0", "1"):
        out = tmp_path / f"out-{force_python}.jsonl"
        env = dict(os.environ, WARDWATCH_DNS_PYTHON=force_python)
        cmd = [sys.executable, "-m", "wardwatch.cli", "sensor", "--workers", "1", "--out", str(out), "--pcap"]
        subprocess.run([*cmd, *map(str, captures)], env=env, check=True, capture_output=True, timeout=300)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and outs[0].count(b'"_path":"dns"') > 2000
