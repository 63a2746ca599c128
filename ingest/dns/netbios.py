"""NetBIOS name service (udp/137) in dns.log as Zeek logs it (``base/protocols/dns/main.zeek``): Zeek's
DNS analyser also reads udp/137; a query's name is decoded from NetBIOS first-level encoding
(``decode_netbios_name``, documented in Zeek's NetBIOS plugin), and qtype 33 (SRV in DNS) is the
NetBIOS node status request there, named ``NBSTAT``.

The encoding (RFC 1001 14.1): each byte of the 16-byte name is two letters ``A``-``P``, its high and
low nibble. Zeek's rules, which this follows: anything but exactly 32 such letters (a scope suffix
included) decodes to the empty string; decoding stops at the first byte that is not printable ASCII
(bytes 0-2 pass); the 16th byte (the name type) is dropped, then trailing spaces and NULs.
"""

from __future__ import annotations

NBNS_PORT = 137
NBSTAT = 33


def decode_netbios_name(name: str) -> str:
    if len(name) != 32:
        return ""
    out = bytearray()
    for i in range(0, 32, 2):
        hi, lo = name[i].upper(), name[i + 1].upper()
        if not ("A" <= hi <= "P" and "A" <= lo <= "P"):
            return ""
        b = ((ord(hi) - 65) << 4) | (ord(lo) - 65)
        if not (0x20 <= b <= 0x7E or b < 3):
            break
        out.append(b)
    del out[15:]
    while out and out[-1] in (0x20, 0):
        out.pop()
    return out.decode("latin-1")
