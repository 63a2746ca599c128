"""Zeek and Suricata logs → records: real third-party samples (tests/data/README.md says where each
comes from and under which licence) and the format's corners written here (sets, ``(empty)``, ``-``,
escapes, ISO timestamps, EVE DNS v2/v3, TLS, alerts, broken lines)."""

from __future__ import annotations

from pathlib import Path

import orjson
from wardwatch.ingest.logs import EveInput, EveParser, TsvState, ZeekInput, json_record

DATA = Path(__file__).resolve().parents[1] / "data"


def _zeek(name: str) -> list[dict]:
    inp = ZeekInput(DATA / "zeek")
    recs, alerts = inp.poll(final=True)
    assert alerts == []
    return [r for r in recs if r["_path"] == name]


def test_zeek_dns_log_vectors_unset_and_bools() -> None:
    recs = _zeek("dns")
    assert len(recs) == 4
    first = next(r for r in recs if r["uid"] == "CtPZjS20MLrsMUOJi2")
    assert first["ts"] == 1533309959.968589 and first["query"] == "workfamily.sas.upenn.edu"
    assert first["answers"] == [
        "quasar.sas.upenn.edu",
        "RRSIG 5 upenn.edu",
        "128.91.234.145",
        "RRSIG 1 upenn.edu",
    ]
    assert first["TTLs"] == [900.0, 900.0, 30.0, 30.0] and first["rtt"] == 0.003748
    assert first["AA"] is True and first["RA"] is False and first["qtype"] == 1 and first["source"] == "zeek"
    unanswered = next(r for r in recs if r["uid"] == "CHhAvVGS1DHFjwGM9")
    for unset in ("rtt", "rcode", "rcode_name", "answers", "TTLs"):
        assert unset not in unanswered  # "-" in the log: unset, not an empty value


def test_zeek_conn_ssl_http_logs() -> None:
    [conn] = _zeek("conn")
    assert conn["history"] == "ShADadtTfF" and conn["orig_ip_bytes"] == 2257 and conn["resp_pkts"] == 16
    assert "tunnel_parents" not in conn  # no column of ours
    [tls] = _zeek("tls")
    assert tls["version"] == "TLSv12" and tls["id.resp_p"] == 443 and "server_name" not in tls
    http = _zeek("http")
    assert [r["trans_depth"] for r in http] == [1, 2, 3, 4, 5]
    assert http[0]["host"] == "www.mozilla.org" and http[0]["status_code"] == 200


def test_zeek_json_log_with_broken_timestamps_is_counted_not_raised() -> None:
    inp = ZeekInput(DATA / "zeek")
    inp.poll(final=True)
    # http.json.log is Zeek's own baseline with its timestamps masked (XXXXXXXXXX.XXXXXX): not JSON
    assert inp.counters["logs.zeek.malformed"] == 4


def test_zeek_tsv_sets_empty_escapes_and_json_iso() -> None:
    s = TsvState()
    for h in (
        "#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tssl",
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tserver_name\tnext_protocol\tja3",
        "#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tstring",
    ):  # fmt: skip
        s.header(h)
    r = s.record("1.5\tCx\t10.0.0.1\t5\t10.0.0.2\t443\tTLSv13\tb\\xc3\\xa1nh.vn\th2\t-")
    assert r is not None and r["_path"] == "tls" and r["server_name"] == "bánh.vn"  # Zeek's \xNN escapes
    assert r["alpn"] == ["h2"] and "ja3" not in r
    assert s.record("1.5\tCx\t10.0.0.1") is None  # too few fields
    assert s.record("notatime\tCx\t10.0.0.1\t5\t10.0.0.2\t443\t-\t-\t-\t-") is None
    c = TsvState()
    for h in (
        "#separator \\x09",
        "#path\tconn",
        "#fields\tts\tuid\tservice\ttunnel_parents",
        "#types\ttime\tstring\tstring\tset[string]",
    ):
        c.header(h)
    assert c.record("2.0\tC1\t-\t(empty)") == {"_path": "conn", "ts": 2.0, "uid": "C1", "source": "zeek"}
    iso = json_record(
        b'{"ts":"2008-07-09T16:13:30.005432Z","uid":"C2","id.orig_h":"10.1.1.1","query":"a.vn"}', "dns"
    )
    assert iso is not None and iso["ts"] == 1215620010.005432 and iso["_path"] == "dns"
    assert json_record(b'{"_path":"files","ts":1.0}') is None
    assert json_record(b"[1,2]", "dns") is None


def test_eve_third_party_sample() -> None:
    inp = EveInput(DATA / "eve" / "tenzir-eve.json")
    recs, alerts = inp.poll(final=True)
    [alert] = alerts
    assert alert.category == "external_ids" and alert.severity == "medium"
    assert (
        alert.rule == "suricata:1:2017318"
        and alert.src_ip == "147.32.84.165"
        and alert.dst_ip == "78.40.125.4"
    )
    assert alert.evidence["signature_id"] == 2017318 and "Suricata" in alert.summary["en"]
    assert alert.ts == 1313153577.71636  # +0200 honoured
    by_path: dict[str, list[dict]] = {}
    for r in recs:
        by_path.setdefault(r["_path"], []).append(r)
    flow = by_path["conn"][0]
    assert flow["orig_pkts"] == 2 and flow["orig_ip_bytes"] == 486 and flow["proto"] == "udp"
    assert "conn_state" not in flow and "history" not in flow and flow["source"] == "eve"
    [http] = by_path["http"]
    assert (
        http["host"] == "cr-tools.clients.google.com" and http["version"] == "1.1" and http["method"] == "GET"
    )
    [dns] = by_path["dns"]  # a query whose answer is not in the file: logged at the end, unanswered
    assert dns["query"] == "irc.freenode.net" and dns["trans_id"] == 553 and "rcode" not in dns
    assert inp.counters["logs.eve.skipped"] == 1  # the fileinfo event


def _eve(
    kind: str,
    body: dict,
    src: str = "10.0.0.5",
    dst: str = "10.0.0.53",
    sp: int = 5353,
    dp: int = 53,
    t: str = "00.000000",
) -> bytes:
    return orjson.dumps(
        {"timestamp": f"2024-05-01T10:00:{t}+0000", "flow_id": 77, "event_type": kind, "src_ip": src,
         "src_port": sp, "dest_ip": dst, "dest_port": dp, "proto": "UDP", kind: body}
    )  # fmt: skip


def test_eve_dns_v2_and_v3_pairing() -> None:
    p = EveParser()
    # version 2: a query event, then an answer event (detailed answers)
    assert (
        p.line(_eve("dns", {"type": "query", "id": 9, "rrname": "x.vn", "rrtype": "A", "tx_id": 0}))[0] == []
    )
    ans = {
        "version": 2,
        "type": "answer",
        "id": 9,
        "rcode": "NXDOMAIN",
        "rrname": "x.vn",
        "rrtype": "A",
        "ra": True,
    }
    [rec], _ = p.line(_eve("dns", ans, src="10.0.0.53", dst="10.0.0.5", sp=53, dp=5353, t="00.250000"))
    assert rec["query"] == "x.vn" and rec["rcode"] == 3 and rec["rcode_name"] == "NXDOMAIN"
    assert abs(rec["rtt"] - 0.25) < 1e-6 and rec["id.orig_h"] == "10.0.0.5" and rec["RA"] is True
    # version 3 (Suricata 8): request/response with queries and answers arrays
    q3 = {
        "version": 3,
        "type": "request",
        "id": 10,
        "rd": True,
        "queries": [{"rrname": "y.vn", "rrtype": "AAAA"}],
    }
    p.line(_eve("dns", q3))
    r3 = {"version": 3, "type": "response", "id": 10, "rcode": "NOERROR", "queries": [{"rrname": "y.vn", "rrtype": "AAAA"}],
          "answers": [{"rrname": "y.vn", "rrtype": "AAAA", "ttl": 60, "rdata": "2001:db8::1"}]}  # fmt: skip
    [rec3], _ = p.line(_eve("dns", r3, src="10.0.0.53", dst="10.0.0.5", sp=53, dp=5353))
    assert (
        rec3["qtype"] == 28
        and rec3["answers"] == ["2001:db8::1"]
        and rec3["TTLs"] == [60.0]
        and rec3["RD"] is True
    )
    grouped = {
        "version": 2,
        "type": "answer",
        "id": 11,
        "rcode": "NOERROR",
        "grouped": {"A": ["1.2.3.4", "1.2.3.5"]},
    }
    [g], _ = p.line(_eve("dns", grouped, src="10.0.0.53", dst="10.0.0.5", sp=53, dp=5353))
    assert (
        g["answers"] == ["1.2.3.4", "1.2.3.5"] and g["id.orig_h"] == "10.0.0.5"
    )  # answer alone: client's side
    assert p.flush() == []


def test_eve_tls_and_bad_lines() -> None:
    p = EveParser()
    tls = {"sni": "benhvien.vn", "version": "TLS 1.2", "ja3": {"hash": "abc"}, "client_alpns": ["h2"]}
    [r], _ = p.line(_eve("tls", tls, dp=443))
    assert (r["server_name"], r["version"], r["ja3"], r["alpn"]) == ("benhvien.vn", "TLSv12", "abc", ["h2"])
    for bad in (
        b"{",
        b"[]",
        b'{"event_type":"flow"}',
        b'{"event_type":"http","timestamp":"x","src_ip":"a","dest_ip":"b"}',
    ):
        assert p.line(bad) == ([], [])
    assert p.malformed == 4


def test_eve_unanswered_query_expires_against_log_time() -> None:
    p = EveParser()
    p.line(_eve("dns", {"type": "query", "id": 1, "rrname": "lost.vn", "rrtype": "A"}, t="00.000000"))
    assert p.expire() == []
    p.line(_eve("flow", {"start": "2024-05-01T10:00:40.000000+0000"}, t="40.000000"))
    [rec] = p.expire()
    assert rec["query"] == "lost.vn" and "rcode" not in rec and p.pending == {}


def test_hostile_zeek_headers_neither_raise_nor_run_code() -> None:
    s = TsvState()
    s.header("#separator \\x")  # a broken escape: Zeek's tab is kept
    s.header("#path\tconn")
    s.header("#fields\tts\tuid'] = __import__('os').system('false') #\tproto")
    s.header("#types\ttime\tstring\tstring")
    assert s.record("1.0\tC1\ttcp") == {"_path": "conn", "source": "zeek", "ts": 1.0, "proto": "tcp"}
    s.header("#fields\tts\tproto")
    s.header("#types\ttime")  # fields and types disagree: no line fits
    assert s.record("1.0\ttcp") is None


def test_fuzzed_log_lines_never_raise() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    sample = (DATA / "eve" / "tenzir-eve.json").read_bytes().splitlines()
    tsv = (DATA / "zeek" / "dns.log").read_text().splitlines()

    @settings(max_examples=400, deadline=None)
    @given(st.integers(0, 5), st.integers(0, 2000), st.binary(max_size=8), st.integers(0, 300))
    def check(k: int, at: int, junk: bytes, cut: int) -> None:
        line = sample[k]
        at %= len(line)
        p = EveParser()
        p.line(line[:at] + junk + line[at + len(junk) :])
        p.line(line[: max(len(line) - cut, 0)])
        p.flush()
        s = TsvState()
        for h in tsv[:8]:
            s.header(h)
        row = tsv[8]
        i = at % len(row)
        s.record(row[:i] + junk.decode("latin-1") + row[i + 1 :])

    check()
