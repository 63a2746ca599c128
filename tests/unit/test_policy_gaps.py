"""Issue 19 points 1, 2 and 7 on records: allowed services per zone pair, merging that lets a second
breach through, two findings for a weak cleartext login, anonymous FTP as anonymous access."""

from __future__ import annotations

import pytest

from tests.unit.test_detect_policy import conn, engine, keys, login, run
from wardwatch.config import ConfigError

GUEST = "172.16.1.50"
ALLOW_DNS = """  segmentation:
    allow: [{from: guest, to: server, ports: [53/udp, 53/tcp]}]
"""


def seg(alerts):
    return {a.indicator: a for a in alerts if a.category == "policy_segmentation"}


def test_allowed_service_is_quiet_and_the_rest_of_the_pair_is_not() -> None:
    recs = [
        conn(GUEST, "10.40.0.53", 53, proto="udp", ts=1000.0),
        conn(GUEST, "10.40.0.53", 53, ts=1001.0),
        *[
            conn(GUEST, "10.40.0.22", p, ts=1002.0 + p / 100, conn_state="REJ", resp_pkts=1)
            for p in range(20, 31)
        ],
        conn(GUEST, "10.40.0.22", 8080, ts=1003.0),
        conn(GUEST, "10.40.0.22", 8080, ts=1004.0),
        conn(GUEST, "10.40.0.53", 8443, ts=1005.0),  # another service of the resolver host
    ]
    by = seg(run(engine(extra=ALLOW_DNS), recs))
    assert set(by) == {"servers", "10.40.0.22:8080/tcp", "10.40.0.53:8443/tcp"}
    assert by["servers"].count == 11  # the scan's refused probes, merged
    assert by["10.40.0.22:8080/tcp"].count == 2
    assert all(a.evidence["port"] != 53 for a in by.values())


def test_without_the_allowance_the_first_service_does_not_hide_the_next() -> None:
    recs = [conn(GUEST, "10.40.0.53", 53, proto="udp", ts=1000.0), conn(GUEST, "10.40.0.22", 80, ts=1010.0)]
    by = seg(run(engine(), recs))
    assert set(by) == {"servers", "10.40.0.22:80/tcp"}


def test_port_only_allowance_by_segment_name_and_protocol() -> None:
    extra = "  segmentation:\n    allow: [{from: guest, to: servers, ports: ['8000-8100/tcp', 123]}]\n"
    recs = [
        conn(GUEST, "10.40.0.22", 8080, ts=1000.0),
        conn(GUEST, "10.40.0.22", 123, proto="udp", ts=1001.0),
        conn(GUEST, "10.40.0.22", 8080, proto="udp", ts=1002.0),  # udp/8080 is not allowed
    ]
    by = seg(run(engine(extra=extra), recs))
    assert list(by) == ["servers"] and by["servers"].evidence["proto"] == "udp"


@pytest.mark.parametrize("bad", ["53/icmp", "70000", "x", "90-80/tcp"])
def test_bad_port_specs_are_config_errors(bad: str) -> None:
    extra = f"  segmentation:\n    allow: [{{from: guest, to: server, ports: ['{bad}']}}]\n"
    with pytest.raises(ConfigError, match=r"segmentation\.allow\[0\]\.ports\[0\]"):
        engine(extra=extra)


def test_weak_cleartext_login_is_two_findings_and_anonymous_ftp_is_neither_weak() -> None:
    recs = [
        login("10.30.0.5", "10.40.0.23", "telnet", "admin", weak=True),
        login("10.30.0.6", "10.40.0.25", "ftp", "anonymous", weak=True),  # even if a sensor said weak
        login("10.30.0.7", "10.40.0.25", "ftp", "FTP", weak=False),
    ]
    alerts = run(engine(), recs)
    assert keys(alerts) == {
        ("policy_plaintext", "10.30.0.5", "telnet://10.40.0.23"),
        ("policy_weak_password", "10.30.0.5", "telnet://admin@10.40.0.23"),
        ("policy_plaintext", "10.30.0.6", "ftp://anonymous@10.40.0.25"),
        ("policy_plaintext", "10.30.0.7", "ftp://anonymous@10.40.0.25"),
    }
    assert {a.rule for a in alerts if a.src_ip != "10.30.0.5"} == {"policy.plaintext.anonymous"}
    quiet = run(engine(extra="  plaintext: {anonymous: false}\n"), recs[1:])
    assert quiet == []
