"""What each input can feed: every alert category is accounted for, and NetFlow's blind spots are the
ones the issue names (DNS tunnels on NetFlow); the two directions of a flow are joined."""

from __future__ import annotations

from wardwatch.ingest.netflow.coverage import NEEDS, blind_on
from wardwatch.ingest.netflow.records import pair

from wardwatch.alerts import CATEGORIES

HEALTH = {"sensor_silent", "sensor_drops", "sensor_overload", "sigma"}  # not tied to one log


def test_every_category_says_what_it_reads() -> None:
    assert set(CATEGORIES) - HEALTH == set(NEEDS)
    assert blind_on(NEEDS["dns_tunnel"]) == ["netflow"]
    assert blind_on(NEEDS["port_scan"]) == []
    assert blind_on(NEEDS["policy_weak_password"]) == ["netflow", "zeek", "eve"]
    assert blind_on(["http"]) == ["netflow"] and blind_on([]) == []


def _flow(src: str, sp: int, dst: str, dp: int, ts: float, pk: int, proto: str = "tcp") -> dict:
    return {"_path": "conn", "ts": ts, "uid": f"N{sp}{dp}", "id.orig_h": src, "id.orig_p": sp, "id.resp_h": dst,
            "id.resp_p": dp, "proto": proto, "duration": 1.0, "orig_pkts": pk, "orig_ip_bytes": pk * 100,
            "resp_pkts": 0, "resp_ip_bytes": 0, "source": "netflow", "exporter": "r1"}  # fmt: skip


def test_pair_joins_directions_and_leaves_the_unanswered() -> None:
    reply = _flow("10.0.0.9", 443, "10.0.0.1", 50000, 100.2, 4)
    request = _flow("10.0.0.1", 50000, "10.0.0.9", 443, 100.0, 5)
    probe = _flow("10.0.0.1", 50001, "10.0.0.9", 22, 100.0, 1)
    icmp = _flow("10.0.0.1", 8, "10.0.0.9", 0, 100.0, 1, "icmp")
    out = pair([reply, request, probe, icmp])
    assert len(out) == 3
    [joined] = [r for r in out if r.get("flow_records") == 2]
    assert (joined["id.orig_h"], joined["id.orig_p"], joined["orig_pkts"]) == ("10.0.0.1", 50000, 5)
    assert (joined["resp_pkts"], joined["resp_ip_bytes"], joined["ts"]) == (4, 400, 100.0)
    assert abs(joined["duration"] - 1.2) < 1e-9
    assert [r["resp_pkts"] for r in out if r["id.orig_p"] in (50001, 8)] == [0, 0]
