"""Announcing urgent alerts as their merge window opens (detectors/noise.py): the on-call engineer
hears of a critical alert at once, and the row stored when the window closes carries the same uid."""

from __future__ import annotations

from wardwatch.detectors.noise import Merger

from wardwatch.alerts import Alert

T0 = 1_764_000_000.0


def _alert(ts: float, severity: str = "critical", src: str = "10.20.0.5", rid: str = "") -> Alert:
    a = Alert(
        ts=ts, category="threat_feed_domain", severity=severity, src_ip=src, dst_ip=None,
        indicator="c2.example", rule="feeds.domain", summary={}, evidence={},
    )  # fmt: skip
    if rid:
        a.seen = {rid}
    return a


def test_a_critical_window_is_announced_once_as_it_opens() -> None:
    m = Merger(300.0)
    m.announce = frozenset({"critical", "high"})
    first = _alert(T0, rid="r1")
    assert m.add([first]) == []
    opened = m.take_opened()
    assert [a.uid for a in opened] == [first.uid]
    m.add([_alert(T0 + 10, rid="r2"), _alert(T0 + 20, rid="r3")])
    assert m.take_opened() == []  # merged into the announced window: nothing new to say
    closed = m.expire(T0 + 10_000)
    assert [(a.uid, a.count) for a in closed] == [(first.uid, 3)]


def test_the_announced_uid_is_pinned_against_a_late_earlier_event() -> None:
    def run(announce: frozenset[str]) -> tuple[str, str, float]:
        m = Merger(300.0)
        m.announce = announce
        first, late = _alert(T0 + 50, rid="r1"), _alert(T0 + 5, rid="r2")  # a record logged late
        m.add([first])
        m.add([late])
        (stored,) = m.flush()
        return stored.uid, first.uid, stored.first_seen

    uid, first_uid, first_seen = run(frozenset({"critical"}))
    assert uid == first_uid and first_seen == T0 + 5  # the notified uid is the stored one
    uid, first_uid, _ = run(frozenset())
    assert uid != first_uid  # without announcing, the earliest event heads the alert, as before


def test_a_window_raised_to_an_urgent_severity_is_announced_then() -> None:
    m = Merger(300.0)
    m.announce = frozenset({"critical"})
    m.add([_alert(T0, "medium", rid="r1")])
    assert m.take_opened() == []
    m.add([_alert(T0 + 30, "critical", rid="r2")])
    (raised,) = m.take_opened()
    assert raised.severity == "critical"
    m.add([_alert(T0 + 40, "critical", rid="r3")])
    assert m.take_opened() == []
    (stored,) = m.flush()
    assert stored.uid == raised.uid and stored.count == 3


def test_each_new_window_of_a_key_is_announced_and_low_severities_never_are() -> None:
    m = Merger(300.0)
    m.announce = frozenset({"critical"})
    m.add([_alert(T0, rid="r1"), _alert(T0 + 400, rid="r2"), _alert(T0 + 401, "low", src="10.20.0.6", rid="r3")])
    assert [a.ts for a in m.take_opened()] == [T0, T0 + 400]
