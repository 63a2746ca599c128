"""conn_state, history and byte counts of classic exchanges (Zeek semantics)."""

from __future__ import annotations

import pytest

from tests.unit.test_flows_helpers import CLIENT, SERVER, A, F, P, R, S, Tcp, icmp, one, udp


def _tcp_cases() -> list[tuple[str, Tcp, str, str]]:
    return [
        ("normal", Tcp().handshake().c(A | P, 100).s(A | P, 200).c(F | A).s(F | A).c(A), "SF", "ShADdFf"),
        ("attempt", Tcp().c(S), "S0", "S"),
        ("rejected", Tcp().c(S).s(R | A), "REJ", "Sr"),
        ("established", Tcp().handshake().c(A | P, 10).s(A | P, 20), "S1", "ShADd"),
        ("orig closes", Tcp().handshake().c(A | P, 10).s(A | P, 20).c(F | A), "S2", "ShADdF"),
        ("resp closes", Tcp().handshake().c(A | P, 10).s(A | P, 20).s(F | A), "S3", "ShADdf"),
        ("orig aborts", Tcp().handshake().c(A | P, 10).c(R | A), "RSTO", "ShADR"),
        ("resp aborts", Tcp().handshake().c(A | P, 10).s(R | A), "RSTR", "ShADr"),
        ("syn then rst", Tcp().c(S).c(R), "RSTOS0", "SR"),
        ("synack then rst", Tcp().s(S | A).s(R), "RSTRH", "^hr"),
        ("half open", Tcp().c(S).c(F), "SH", "SF"),
        ("synack then fin", Tcp().s(S | A).s(F | A), "SHR", "^hf"),
        ("midstream", Tcp().c(A | P, 10).s(A), "OTH", "Da"),
        ("syn+fin", Tcp().c(S | F), "SH", "Q"),
        ("fin+rst", Tcp().handshake().c(F | R | A), "RSTO", "ShAI"),
        ("rst after fins", Tcp().handshake().c(F | A).s(F | A).c(R), "SF", "ShAFfR"),
    ]


@pytest.mark.parametrize(("name", "tcp", "state", "history"), _tcp_cases(), ids=[c[0] for c in _tcp_cases()])
def test_tcp_conn_state_and_history(name: str, tcp: Tcp, state: str, history: str) -> None:
    rec = one(tcp.rows)
    assert rec["conn_state"] == state
    assert rec.get("history") == history


def test_every_tcp_conn_state_is_covered() -> None:
    states = {c[2] for c in _tcp_cases()}
    assert states == {
        "S0",
        "S1",
        "SF",
        "REJ",
        "S2",
        "S3",
        "RSTO",
        "RSTR",
        "RSTOS0",
        "RSTRH",
        "SH",
        "SHR",
        "OTH",
    }


def test_normal_connection_fields() -> None:
    rec = one(Tcp(cport=40000, sport=80).handshake().c(A | P, 100).s(A | P, 200).c(F | A).s(F | A).c(A).rows)
    assert list(rec)[:8] == [
        "_path",
        "ts",
        "uid",
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "proto",
    ]
    assert rec["_path"] == "conn" and rec["proto"] == "tcp"
    assert (rec["id.orig_h"], rec["id.orig_p"], rec["id.resp_h"], rec["id.resp_p"]) == (
        CLIENT,
        40000,
        SERVER,
        80,
    )
    assert rec["ts"] == pytest.approx(100.1)
    # duration stops at the second FIN: the final ACK is not "productive"
    assert rec["duration"] == pytest.approx(0.6)
    assert (rec["orig_bytes"], rec["resp_bytes"]) == (100, 200)
    assert (rec["orig_pkts"], rec["resp_pkts"]) == (5, 3)
    assert rec["orig_ip_bytes"] == 5 * 40 + 100 and rec["resp_ip_bytes"] == 3 * 40 + 200
    assert rec["missed_bytes"] == 0
    assert rec["uid"].startswith("C") and len(rec["uid"]) == 18
    assert "service" not in rec and "local_orig" not in rec


def test_single_packet_has_no_duration_or_bytes() -> None:
    rec = one(Tcp().c(S).rows)
    assert "duration" not in rec and "orig_bytes" not in rec and "resp_bytes" not in rec


def test_retransmission_letters() -> None:
    t = Tcp().handshake().c(A | P, 100).c(A | P, 100, seq=1001).s(A).c(F | A).s(F | A)
    rec = one(t.rows)
    assert rec["history"] == "ShADTaFf"
    assert rec["orig_bytes"] == 100


def test_retransmissions_scale_logarithmically() -> None:
    t = Tcp().handshake().c(A | P, 100)
    for _ in range(12):
        t.c(A | P, 100, seq=1001)
    assert one(t.rows)["history"] == "ShADTT"  # 1st and 10th retransmission


def test_content_gap_counts_missed_bytes() -> None:
    t = Tcp().handshake().c(A | P, 100).c(A | P, 100, seq=1301).s(A).c(F | A).s(F | A)
    rec = one(t.rows)
    assert rec["history"] == "ShADGaFf"
    assert rec["orig_bytes"] == 400  # Zeek counts the sequence space, gaps included
    assert rec["missed_bytes"] == 200


def test_zero_window_letter() -> None:
    rec = one(Tcp().handshake().c(A | P, 100).s(A, win=0).s(A, win=0).c(F | A).s(F | A).rows)
    assert rec["history"] == "ShADawFf"


def test_syn_ack_first_flips_roles() -> None:
    t = Tcp(cport=40000, sport=443).s(S | A).c(A).c(A | P, 10).s(A | P, 20).c(F | A).s(F | A).c(A)
    rec = one(t.rows)
    assert rec["history"] == "^hADdFf"
    assert rec["conn_state"] == "SF"
    assert (rec["id.orig_h"], rec["id.orig_p"], rec["id.resp_p"]) == (CLIENT, 40000, 443)
    assert (rec["orig_bytes"], rec["resp_bytes"]) == (10, 20)


def test_midstream_from_server_port_flips() -> None:
    rec = one(Tcp(cport=40000, sport=443).s(A | P, 50).c(A).rows)
    assert rec["history"] == "^dA"
    assert (rec["id.orig_p"], rec["id.resp_p"]) == (40000, 443)


def test_seq_wraparound() -> None:
    t = Tcp(cisn=0xFFFFFF00).handshake()
    for _ in range(3):
        t.c(A | P, 200)
    t.c(F | A).s(F | A)
    rec = one(t.rows)
    assert rec["orig_bytes"] == 600 and rec["missed_bytes"] == 0
    assert "T" not in rec["history"]


def test_udp_exchange() -> None:
    rec = one([udp(1.0, CLIENT, SERVER, 5000, 53, 30), udp(1.2, SERVER, CLIENT, 53, 5000, 90)])
    assert rec["proto"] == "udp" and rec["conn_state"] == "SF" and rec["history"] == "Dd"
    assert (rec["orig_bytes"], rec["resp_bytes"], rec["orig_ip_bytes"]) == (30, 90, 58)
    assert rec["duration"] == pytest.approx(0.2)


def test_udp_one_way_is_s0() -> None:
    rec = one([udp(1.0, CLIENT, SERVER, 5000, 9999), udp(2.0, CLIENT, SERVER, 5000, 9999)])
    assert (rec["conn_state"], rec["history"], rec["orig_pkts"]) == ("S0", "D", 2)


def test_udp_reply_first_is_flipped() -> None:
    rec = one([udp(1.0, SERVER, CLIENT, 53, 5000, 90)])
    assert (rec["id.orig_h"], rec["id.orig_p"], rec["id.resp_p"]) == (CLIENT, 5000, 53)
    assert (rec["conn_state"], rec["history"]) == ("SHR", "^d")


def test_icmp_echo_pairs_into_one_connection() -> None:
    rows = [
        icmp(1, CLIENT, SERVER, 8),
        icmp(1.1, SERVER, CLIENT, 0),
        icmp(2, CLIENT, SERVER, 8),
        icmp(2.1, SERVER, CLIENT, 0),
    ]
    rec = one(rows)
    assert (rec["proto"], rec["id.orig_p"], rec["id.resp_p"], rec["conn_state"]) == ("icmp", 8, 0, "OTH")
    assert (rec["orig_pkts"], rec["resp_pkts"], rec["orig_bytes"], rec["resp_bytes"]) == (2, 2, 112, 112)
    assert "history" not in rec


def test_icmpv6_echo_pairs() -> None:
    rec = one([icmp(1, "fe80::1", "fe80::2", 128, proto=58), icmp(1.1, "fe80::2", "fe80::1", 129, proto=58)])
    assert (rec["id.orig_h"], rec["id.orig_p"], rec["id.resp_p"]) == ("fe80::1", 128, 129)
    assert (rec["orig_pkts"], rec["resp_pkts"]) == (1, 1)


def test_icmp_unreachable_uses_code_and_keeps_direction() -> None:
    from tests.unit.test_flows_helpers import finals, run

    recs = finals(run([icmp(1, CLIENT, SERVER, 3, 3), icmp(1.5, SERVER, CLIENT, 3, 3)]))
    assert len(recs) == 2  # one-way messages: each direction is its own connection
    assert {(r["id.orig_h"], r["id.orig_p"], r["id.resp_p"]) for r in recs} == {
        (CLIENT, 3, 3),
        (SERVER, 3, 3),
    }


def test_unknown_transport() -> None:
    rec = one([dict(ts=1.0, src=CLIENT, dst=SERVER, proto=47, sport=0, dport=0, payload=b"g" * 20)])
    assert (rec["proto"], rec["id.orig_p"], rec["id.resp_p"], rec["conn_state"]) == (
        "unknown_transport",
        0,
        0,
        "OTH",
    )
