"""Answer strings for dns.log, formatted as Zeek's base/protocols/dns/main.zeek writes them.

Zeek calls its reply hook only for answer-section records whose type has a reply handler in
main.zeek. Types it parses without such a handler (HINFO, CAA, SVCB, HTTPS, OPT, TSIG) leave no
trace at all (None here: not even AA/RA/rtt are taken from them); WKS and names equal to the root
give an empty reply (""), which sets AA/RA/rtt but adds no answer; types Zeek does not parse at
all (NULL, DNAME, NAPTR, …) become ``<unknown type=N>``.

The authority section gives two fields: Zeek's ``auth`` (``policy/protocols/dns/auth-addl.zeek``: the
same reply strings, for authority records, so an SOA gives its primary server ``mname``) and our
``auth_zone``, the owner of the authority section's SOA: the closest existing zone enclosing the name
(RFC 2308), which Zeek's ``auth`` cannot tell: ``mname`` names a server, not the zone.
"""

from __future__ import annotations

from . import consts as c
from .wire import ResourceRecord, bytes_text

ROOT_ZONE = "."  # auth_zone of the root's SOA: "" would read as "no SOA" once stored

_NO_REPLY = frozenset({c.HINFO, c.CAA, c.SVCB, c.HTTPS, c.OPT, c.TSIG})
_NAME_TYPES = frozenset({c.A, c.AAAA, c.CNAME, c.NS, c.PTR, c.NSEC})


def format_answer(rr: ResourceRecord) -> str | None:
    """Zeek's reply string for one answer record: "" adds no entry, None means no reply at all."""
    t = rr.rtype
    data = rr.data
    if t in _NAME_TYPES:
        if t == c.NSEC:
            return f"NSEC {rr.name} {data}"
        return data  # type: ignore[return-value]
    if t == c.MX:
        return data[1]  # type: ignore[index]
    if t == c.TXT or t == c.SPF:
        label = "TXT" if t == c.TXT else "SPF"
        return " ".join(f"{label} {len(s)} {bytes_text(s)}" for s in data)  # type: ignore[attr-defined]
    if t == c.SOA:
        return data[0]  # type: ignore[index]
    if t == c.SRV:
        return data[3]  # type: ignore[index]
    if t in _NO_REPLY:
        return None
    if t == c.WKS:
        return ""
    if t == c.RRSIG:
        return f"RRSIG {data[0]} {data[1] or '<Root>'}"  # type: ignore[index]
    if t == c.DNSKEY:
        return f"DNSKEY {data}"
    if t == c.DS:
        return f"DS {data[0]} {data[1]}"  # type: ignore[index]
    if t == c.NSEC3:
        return "NSEC3"
    if t == c.NSEC3PARAM:
        return "NSEC3PARAM"
    if t == c.BINDS:
        return "BIND9 signing signal"
    if t == c.SSHFP:
        return f"SSHFP: {data[2].hex()}"  # type: ignore[index]
    if t == c.LOC:
        return f"LOC:  {data[0]} {data[1]} {data[2]}"  # type: ignore[index]
    return f"<unknown type={t}>"


def authority(records: list[ResourceRecord]) -> tuple[list[str], str | None]:
    """(Zeek's ``auth``, ``auth_zone``) of one response's authority records: the reply string of each
    record that has one, once each (Zeek's set), in wire order; the owner of the first SOA
    (``ROOT_ZONE`` for the root) or None."""
    texts: list[str] = []
    zone = None
    for rr in records:
        text = format_answer(rr)
        if text is not None and text not in texts:
            texts.append(text)
        if zone is None and rr.rtype == c.SOA:
            zone = rr.name or ROOT_ZONE
    return texts, zone
