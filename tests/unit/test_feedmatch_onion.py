"""FeedMatcher's Tor2web rewrite: ``<service>.onion.<gateway>`` is looked up as the listed onion
service when nothing covers the gateway name, and never past an allow-list entry."""

from __future__ import annotations

from wardwatch.detectors.feedmatch import FeedMatcher
from wardwatch.threatfeeds import Allowed, IndexBuilder, Match
from wardwatch.threatfeeds.model import Meta


def build(entries: list[str]):  # type: ignore[no-untyped-def]
    b = IndexBuilder()
    b.add_feed("f", [(e, None, Meta(threat="onion")) for e in entries])
    return b.build()


class _Index:
    """A stand-in index: answers only for the names it lists."""

    def __init__(self, answers: dict[str, Match | Allowed]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def lookup_domain(self, name: str) -> Match | Allowed | None:
        self.asked.append(name)
        return self.answers.get(name)

    def counts(self) -> dict[str, int]:
        return {"urls": 0}


def test_tor2web_gateway_names_are_looked_up_as_the_onion_service() -> None:
    ix = build(["badsite.onion", "onion.ws"])
    fm = FeedMatcher(ix)
    m = fm.domain("badsite.onion.to")
    assert m is not None and m.indicator == "badsite.onion"
    m = fm.domain("www.badsite.onion.ly")
    assert m is not None and m.indicator == "badsite.onion"
    # a listed gateway is the hit itself (the feed said so), like any listed parent
    m = fm.domain("other.onion.ws")
    assert m is not None and m.indicator == "onion.ws"
    assert fm.domain("other.onion.to") is None
    assert fm.domain("badsite.onionx.to") is None  # not a label boundary


def test_tor2web_rewrite_never_overrides_the_allowlist() -> None:
    allowed = Allowed("badsite.onion.to", "config")
    stub = _Index({"badsite.onion.to": allowed})
    fm = FeedMatcher(stub)  # type: ignore[arg-type]
    assert fm.domain("badsite.onion.to") is None
    assert stub.asked == ["badsite.onion.to"]  # no second lookup of badsite.onion
