"""Per-message cross-check of our capture → decode → DNS chain against tshark.

For every DNS message tshark decodes (on ports 53/5353/5355) in the suricata-verify DNS pcaps and
the maltrail sensor tests, our decode of the same frame must give the same query name, qtype,
rcode and A/AAAA/CNAME answers. Known disagreements are listed with the reason and who is right.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests import conftest

from .test_dns_support import decoded_messages

FIELDS = ["frame.number", "dns.flags.response", "dns.qry.name", "dns.qry.type", "dns.flags.rcode",
          "dns.a", "dns.aaaa", "dns.cname", "udp.port", "tcp.port"]  # fmt: skip
PORTS = {53, 5353, 5355}
# (pcap name, frame) → why tshark and we disagree, and who is right.
KNOWN: dict[tuple[str, int], str] = {
    ("dns-forward-pointer/input.pcap", 1): "the question uses a forward compression pointer: we refuse "
    "it and count malformed.dns (pointers must go strictly backwards, Zeek refuses it too); tshark follows it",
    ("dns-tcp-ts-gap/input.pcap", 10): "a query sent after bytes lost to the capture: we hold it waiting for "
    "the missing bytes (then count dns.tcp_gap); tshark decodes it. tshark is right: gap detection from the "
    "peer's ACK is not implemented",
}


def _pcaps() -> list[Path]:
    """The pcaps, each distinct content once (suricata-verify repeats many across test versions)."""
    root = conftest.TESTDATA
    if not root.exists():
        return []
    found: set[Path] = set()
    sv = root / "suricata-verify"
    for line in (sv / "DNS_TESTS.txt").read_text().splitlines():
        if line.strip():
            found.update((sv / line.strip()).glob("*.pcap"))
    found.update((root / "maltrail" / "sensor-tests").glob("*.pcap"))
    unique: dict[str, Path] = {}
    for path in sorted(found):
        unique.setdefault(hashlib.sha1(path.read_bytes()).hexdigest(), path)
    return sorted(unique.values())


_TSHARK: dict[Path, Future] = {}


def _tshark_all() -> dict[Path, Future]:
    """Start tshark on every pcap at once (startup dominates; two cores run them side by side)."""
    if not _TSHARK:
        pool = ThreadPoolExecutor(max_workers=4)
        for path in PCAPS:
            _TSHARK[path] = pool.submit(tshark_messages, path)
        pool.shutdown(wait=False)
    return _TSHARK


def tshark_messages(path: Path) -> dict[int, list[tuple]]:
    out = subprocess.run(
        ["tshark", "-r", str(path), "-Y", "dns", "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
         "-E", "aggregator=|", *[x for f in FIELDS for x in ("-e", f)]],  # fmt: skip
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    frames: dict[int, list[tuple]] = {}
    for line in out.stdout.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(FIELDS) - len(cols))
        ports = {int(p) for p in (cols[8] + "|" + cols[9]).split("|") if p}
        if not ports & PORTS:
            continue  # DoH and other transports we do not decode
        names = cols[2].split("|") if cols[2] else []
        qtypes = [int(t) for t in cols[3].split("|") if t]
        # several messages in one frame (TCP) are aggregated by tshark; keep the frame-level union
        frames.setdefault(int(cols[0]), []).append(
            (
                names[-1].lower() if names else None,
                qtypes[-1] if qtypes else None,
                int(cols[4].split("|")[0]) if cols[4] else None,
                frozenset(a for a in (cols[5] + "|" + cols[6]).split("|") if a),
                frozenset(c.lower() for c in cols[7].split("|") if c),
            )
        )
    return frames


def ours(path: Path) -> dict[int, list[tuple]]:
    frames: dict[int, list[tuple]] = {}
    for _source, frame, msg in decoded_messages(path):
        if msg is None or not msg.questions:
            continue
        answers = [*msg.answers, *msg.authority, *msg.additional]
        frames.setdefault(frame, []).append(
            (
                msg.questions[-1].name,
                msg.questions[-1].qtype,
                msg.rcode if msg.qr else 0,
                frozenset(str(a.data) for a in answers if a.rtype in (1, 28)),
                frozenset(str(a.data) for a in answers if a.rtype == 5),
            )
        )
    return frames


def _ipv6_norm(values: frozenset[str]) -> frozenset[str]:
    import ipaddress

    out = set()
    for v in values:
        try:
            addr = ipaddress.ip_address(v)
            out.add(str(addr.ipv4_mapped) if getattr(addr, "ipv4_mapped", None) else str(addr))
        except ValueError:
            out.add(v)
    return frozenset(out)


PCAPS = _pcaps()


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("path", PCAPS or [Path("absent")], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_per_message_decode_agrees_with_tshark(path: Path) -> None:
    if not PCAPS:
        conftest.testdata_path("suricata-verify")
    theirs = _tshark_all()[path].result()
    key = f"{path.parent.name}/{path.name}"
    mine = ours(path)
    disagreements = []
    for frame, tmsgs in theirs.items():
        if (key, frame) in KNOWN:
            continue
        t = tmsgs[0]
        if t[0] is None:
            continue  # tshark found no question (malformed); our decoder counts it instead
        candidates = mine.get(frame, [])
        ok = any(
            m[0] == t[0].rstrip(".").replace("<root>", "")
            and m[1] == t[1]
            and m[2] == (t[2] or 0)
            and _ipv6_norm(m[3]) >= _ipv6_norm(t[3])
            and m[4] >= t[4]
            for m in candidates
        )
        if not ok:
            disagreements.append((frame, t, candidates))
    assert not disagreements, f"{path.name}: {len(disagreements)} frames differ, first: {disagreements[:3]}"
