"""Issue 19 point 6: a DNS tunnel whose data names are under half of its queries (the rest its own
short polling names) is still found by the bytes it carries; a busy domain with short names is not."""

from __future__ import annotations

import random

from tests.unit.test_behaviour_detectors import dns, engine, run

B32 = "abcdefghijklmnopqrstuvwxyz234567"


def tunnel(src: str, rnd: random.Random, data: int = 250) -> list[dict]:
    recs, ts = [], 1000.0
    for i in range(data):
        blob = "".join(rnd.choice(B32) for _ in range(rnd.randint(60, 200)))
        name = ".".join([blob[j : j + 60] for j in range(0, len(blob), 60)] + ["t", "exfil-cdn.net"])
        recs.append(dns(src, name, ts, qtype="NULL" if i % 10 == 0 else "A"))
        recs.append(dns(src, f"p{i % 7}.t.exfil-cdn.net", ts + 0.1))
        if i % 4 == 0:
            recs.append(dns(src, f"q{i % 5}.t.exfil-cdn.net", ts + 0.2))
        ts += 0.5
    return recs


def test_tunnel_behind_its_polling_is_found_by_its_bytes() -> None:
    recs = tunnel("10.30.0.7", random.Random(1))
    got = [a for a in run(engine(), recs) if a.category == "dns_tunnel"]
    assert [(a.src_ip, a.indicator) for a in got] == [("10.30.0.7", "exfil-cdn.net")]
    assert got[0].evidence["data_names"] < 0.5 * got[0].evidence["queries"]
    off = run(engine("  dns_tunnel: {data_bytes: 1G}\n"), recs)
    assert [a for a in off if a.category == "dns_tunnel"] == []


def test_repeated_data_names_carry_no_new_bytes() -> None:
    # one long name asked again and again (a client retrying) is not kilobytes of data
    long = "a" * 50 + ".b" * 5 + ".repeat.example.com"
    recs = [dns("10.30.0.8", long, 1000.0 + i) for i in range(300)]
    recs += [dns("10.30.0.8", f"h{i}.repeat.example.com", 1000.5 + i / 2) for i in range(500)]
    recs.sort(key=lambda r: r["ts"])
    assert [a for a in run(engine(), recs) if a.category == "dns_tunnel"] == []
