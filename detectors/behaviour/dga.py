"""``dga``: hosts looking up algorithmically generated names.

Only NXDOMAIN answers are scored (a DGA bot tries many names, of which the few its master registered
resolve), by the label of the registered domain (``dgamodel.score``). A host is reported when it has
looked up ``min_names`` distinct DGA-like nonexistent registered domains within ``window``
(``behaviour.dga.host``); one name whose score clears the bar by ``single_offset`` more is reported on
its own at low severity (``behaviour.dga.name``) until the host alert takes over. Lookups by a configured
resolver on its clients' behalf, mDNS and names without a public suffix are skipped.

The volume rule (issue 19): word-list DGAs (``words.py``) join dictionary words and pronounceable
generators alternate consonants and vowels, which the character model finds ordinary. A nonexistent
registered domain made of two to five listed words, within ``near`` bits per letter below the bar, or
of 8-15 mixed hex digits counts too, but the host rule then needs ``min_word_names`` distinct names
(character-like ones included), since such a name alone (``microsoftonline``) says nothing. Under a free dynamic-DNS provider (``ddns.net``, ``duckdns.org`` …)
the label in front of the provider is the one judged.

What the answer says (issue 19): a resolver's NXDOMAIN carries the SOA of the closest existing zone
enclosing the name (RFC 2308), kept as the record's ``auth_zone``. When that zone is the registered
domain or one below it (``example.com`` for ``nope.example.com``), the registered domain exists: the
name is a missing host under a real domain, not a generated domain, and counts for no rule. When it is
a zone above (the public suffix, the TLD, the root), the domain does not exist: the DGA case, counted as
before. With no SOA, or one unrelated to the name (a filtering resolver's own zone), the name is judged
as before on its characters alone. Zeek's ``auth`` (imported dns.log) names servers, not zones: an SOA
server under the registered domain (``ns1.example.com``) is the only thing taken from it, as "exists".
"""

from __future__ import annotations

import re
from collections import deque

from wardwatch.alerts import Alert

from ..base import Batch, record_id
from ..rules import make_alert
from . import dgamodel, words
from .names import nxdomain_lookups, split_name
from .options import DgaOptions
from .persist import HostTable

# Free dynamic-DNS and sub-domain services: a bot's generated label is the one in front of them
# (``lkhylm0mhyfuhg.ddns.net``), so that label is scored instead of the provider's own.
DYNAMIC_PARENTS = frozenset((
    "ddns.net", "mooo.com", "dyndns.org", "dyndns.com", "duckdns.org", "no-ip.org", "no-ip.com", "no-ip.biz",
    "no-ip.info", "hopto.org", "zapto.org", "sytes.net", "servebeer.com", "serveftp.com", "myftp.biz",
    "dynu.net", "afraid.org", "chickenkiller.com", "3utilities.com", "bounceme.net",
    "ddnsking.com", "gotdns.ch", "dnsalias.com", "dnsalias.net", "homeip.net", "selfip.com", "github.io",
))  # fmt: skip


_SHORT_HEX = re.compile(r"[0-9a-f]{8,15}")


def judged_label(name: str) -> tuple[str, str] | None:
    """(registered domain, the label the models judge) of a lower-case name, or None."""
    parts = split_name(name)
    if parts is None:
        return None
    sub, reg = parts
    if reg in DYNAMIC_PARENTS and sub:
        return f"{sub.rsplit('.', 1)[-1]}.{reg}", sub.rsplit(".", 1)[-1]
    return reg, reg.split(".", 1)[0]


def char_score(label: str, o: DgaOptions) -> float:
    return dgamodel.score(label, o.min_letters) - o.offset


def kind(label: str, o: DgaOptions) -> tuple[float, str | None]:
    """(character score, kind) of one judged label: kind ``char`` (over the character model's bar:
    counts for both rules), ``word`` (made of listed words) or ``near`` (within ``near`` bits of the
    bar: pronounceable generators), which count for the volume rule only, or None."""
    s = char_score(label, o)
    if s > 0:
        return s, "char"
    if o.words and words.word_like(label):
        return s, "word"
    if o.near and s > -o.near and label.replace("-", "").isalpha():
        return s, "near"
    if o.near and _SHORT_HEX.fullmatch(label) and 2 <= sum(c.isdigit() for c in label) <= len(label) - 2:
        return s, "near"  # 8-15 hex digits, letters and digits mixed: a hash-prefix generator
    return s, None


def domain_exists(reg: str, zone: object = None, auth: object = None) -> bool | None:
    """What an NXDOMAIN's authority section says of the registered domain ``reg``: True, it exists
    (``zone``, the SOA's owner, is ``reg`` or below it; or one of Zeek's ``auth`` server names is under
    ``reg``); False, it does not (the SOA is of a zone above it: suffix, TLD, root); None, no evidence."""
    if isinstance(zone, str) and zone:
        z = zone.lower().rstrip(".")
        if z == reg or z.endswith("." + reg):
            return True
        if not z or reg.endswith("." + z):
            return False
    if isinstance(auth, list):
        for a in auth:
            if isinstance(a, str) and (a == reg or a.lower().endswith("." + reg)):
                return True
    return None


def counts(name: str, o: DgaOptions, zone: str | None = None) -> str | None:
    """The kind a nonexistent ``name`` counts as (see ``kind``), None also when ``zone`` (its NXDOMAIN's
    SOA owner) shows that its registered domain exists; the bench uses it as the detector does."""
    got = judged_label(name.lower())
    if got is None or domain_exists(got[0], zone):
        return None
    return kind(got[1], o)[1]


class _Host:
    __slots__ = ("seen", "names", "wnames", "confirmed", "alerted")

    def __init__(self) -> None:
        # (ts, registered domain, word-made) of DGA-like NX names
        self.seen: deque[tuple[float, str, bool]] = deque()
        self.names: set[str] = set()  # over the character model's bar
        self.wnames: set[str] = set()  # counted by the volume rule only (word-made, near the bar)
        self.confirmed: set[str] = set()  # of both, those whose NXDOMAIN carried the SOA of a zone above
        self.alerted = float("-inf")


class DgaDetector(HostTable[DgaOptions, _Host]):
    name = "dga"

    def __init__(self, opts: DgaOptions | None = None, max_hosts: int = 200_000) -> None:
        super().__init__(opts or DgaOptions(), max_hosts)
        self._scores: dict[str, tuple[float, str | None]] = {}  # per registered domain: bots repeat names

    def score(self, reg: str, label: str) -> tuple[float, str | None]:
        """``kind`` of one judged label, cached per registered domain (bots repeat names)."""
        got = self._scores.get(reg)
        if got is None:
            if len(self._scores) > 100_000:
                self._scores.clear()
            got = self._scores[reg] = kind(label, self.o)
        return got

    def detect(self, batch: Batch) -> list[Alert]:
        out: list[Alert] = []
        o = self.o
        for rec, src, dst, q in nxdomain_lookups(batch):
            judged = judged_label(q.lower())
            if judged is None:
                continue
            reg, label = judged
            exists = domain_exists(reg, rec.get("auth_zone"), rec.get("auth"))
            if exists:
                continue  # a missing name under a real domain: not a generated domain
            s, k = self.score(reg, label)
            if k is None:
                continue
            worded = k != "char"
            ts = float(rec.get("ts") or batch.ts_max)
            h = self.hosts.setdefault(src.ip, _Host)
            while h.seen and h.seen[0][0] < ts - o.window:
                _, old, w = h.seen.popleft()
                (h.wnames if w else h.names).discard(old)
                h.confirmed.discard(old)
            if reg not in h.names and reg not in h.wnames:
                h.seen.append((ts, reg, worded))
                (h.wnames if worded else h.names).add(reg)
            if exists is False:
                h.confirmed.add(reg)
            if ts - h.alerted < o.cooldown:
                continue
            ev = {"log": "dns", "uid": rec.get("uid"), "query": q, "score": round(s, 2), "resolver": dst.ip}
            total = len(h.names) + len(h.wnames)
            if len(h.names) >= o.min_names or total >= o.min_word_names:
                h.alerted = ts
                sample = sorted(h.names | h.wnames)[:20]
                ev.update(names=total, volume_names=len(h.wnames), sample=sample, window=o.window,
                          soa_nonexistent=len(h.confirmed))  # fmt: skip
                a = make_alert("behaviour.dga.host", ts, src, None, reg, ev, count=total)
            elif s > o.single_offset:
                a = make_alert("behaviour.dga.name", ts, src, None, reg, ev)
            else:
                continue
            a.seen.add(record_id(rec))
            out.append(a)
        return out
