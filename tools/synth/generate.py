"""A synthetic hospital network, deterministic from a seed: normal clinical and office traffic plus
injected attacks for every category of the detection issue.

``generate(out_dir, seed)`` writes ``hospital.pcap``, ``injected.json`` (one entry per attack:
category, src_ip, indicator, rule, note) and ``hospital.yaml`` (the segments, the synthetic threat
feeds and the detector settings that describe this network), and returns their paths.

The network (``SEGMENTS``): HIS, EMR, PACS, LIS, clinical wards, administration, servers (with the
hospital resolver 10.40.0.53), a DMZ, guest Wi-Fi and the secret LAN; everything else is the internet.
Normal traffic raises nothing; every injected attack raises its alert.
"""

from __future__ import annotations

import base64
import random
import struct
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from wardwatch.tools.synth.packets import (
    ACK,
    RST,
    SYN,
    Frame,
    client_hello,
    dns_message,
    server_hello_stub,
    tcp_exchange,
    tcp_segment,
    udp_datagram,
    write_pcap,
)

BASE_TS = 1767254400.0  # 2026-01-01 08:00 UTC, a Thursday morning shift
SPAN = 900.0  # seconds of traffic

SEGMENTS: list[dict[str, Any]] = [
    {"name": "his", "cidrs": ["10.10.0.0/24"], "zone": "his", "criticality": "high"},
    {"name": "emr", "cidrs": ["10.11.0.0/24"], "zone": "emr", "criticality": "critical"},
    {"name": "pacs", "cidrs": ["10.12.0.0/24"], "zone": "pacs", "criticality": "high"},
    {"name": "lis", "cidrs": ["10.13.0.0/24"], "zone": "lis", "criticality": "high"},
    {"name": "wards", "cidrs": ["10.20.0.0/22"], "zone": "clinical", "criticality": "high"},
    {"name": "office", "cidrs": ["10.30.0.0/24"], "zone": "admin", "criticality": "medium"},
    {"name": "servers", "cidrs": ["10.40.0.0/24"], "zone": "server", "criticality": "high"},
    {"name": "dmz", "cidrs": ["10.50.0.0/24"], "zone": "dmz", "criticality": "medium"},
    {"name": "guest-wifi", "cidrs": ["172.16.0.0/20"], "zone": "guest", "criticality": "low"},
    {"name": "secret-lan", "cidrs": ["10.99.0.0/24"], "zone": "airgap", "criticality": "critical"},
]
RESOLVER = "10.40.0.53"
UPSTREAM = "203.0.113.53"  # the resolver's forwarder (an ISP resolver)
HIS, EMR, PACS, LIS = "10.10.0.10", "10.11.0.10", "10.12.0.10", "10.13.0.10"
MAIL, FILES, SSH_HOST, PORTAL = "10.40.0.25", "10.40.0.21", "10.40.0.22", "10.50.0.10"
INTERNAL_NAMES = {
    "his.benhvien.local": HIS,
    "emr.benhvien.local": EMR,
    "pacs.benhvien.local": PACS,
    "lis.benhvien.local": LIS,
    "mail.benhvien.local": MAIL,
}
WEB_NAMES = [
    "moh.gov.vn", "www.vnexpress.net", "www.google.com", "update.microsoft.com", "baohiemxahoi.gov.vn",
    "thuvienphapluat.vn", "www.youtube.com", "www.facebook.com", "cdn.jsdelivr.net", "ocsp.digicert.com",
]  # fmt: skip
# Exfiltration floors (bytes per hour to the internet, per zone) of the generated config: low enough
# that a few MB from the EMR segment count, so the capture stays small.
EXFIL_FLOORS = {"emr": "2MB", "his": "5MB", "lis": "5MB", "server": "5MB"}
GUEST_NAMES = ["www.youtube.com", "www.facebook.com", "chat.zalo.me", "www.tiktok.com", "m.vnexpress.net"]


# Built-in Sigma rules (sigmarules/rules) that some injected attacks raise too, by design.
SIGMA_REMOTE_DNS = "sigma.dc601e76-3a4a-52d5-9106-86fdc5b3a240"  # DNS lookup of a remote-access tool
SIGMA_REMOTE_TLS = "sigma.dab24612-4db8-58b7-9514-c1a7ee1abb98"  # TLS to a remote-access tool
SIGMA_EXE_HTTP = "sigma.67c103d0-16b5-5fbe-a99f-04a98728c8cc"  # executable fetched over cleartext HTTP


def _alert(category: str, src: str, indicator: str, rule: str) -> dict[str, str]:
    return {"category": category, "src_ip": src, "indicator": indicator, "rule": rule}


@dataclass
class Result:
    pcap: Path
    injected: Path
    config: Path
    frames: int
    attacks: list[dict[str, Any]]


@lru_cache(maxsize=4096)
def _dns_template(
    name: str, answers: tuple[tuple[str, str], ...], response: bool, qtype: str = "A", rcode: int = 0
) -> bytes:
    if not response:
        return dns_message(name, qtype)
    rrs = [
        (owner, "TXT", v, 0) if qtype == "TXT" else (owner, "A" if _is_ip(v) else "CNAME", v, 300)
        for owner, v in answers
    ]
    return dns_message(name, qtype, rrs, response=True, rcode=rcode)


def _is_ip(v: str) -> bool:
    return v.replace(".", "").isdigit()


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.frames: list[Frame] = []
        self.attacks: list[dict[str, Any]] = []
        self.next_port = 40000

    # -- primitives --------------------------------------------------------------------------------
    def port(self) -> int:
        self.next_port = 40000 + (self.next_port - 39999) % 20000
        return self.next_port

    def t(self) -> float:
        return round(BASE_TS + self.rnd.uniform(0, SPAN), 6)

    def dns(
        self,
        client: str,
        server: str,
        name: str,
        answers: list[tuple[str, str]],
        ts: float,
        qtype: str = "A",
        rcode: int = 0,
    ) -> None:
        qid = self.rnd.randrange(1, 65535)
        sport = self.port()
        q = struct.pack("!H", qid) + _dns_template(name, (), False, qtype)[2:]
        r = struct.pack("!H", qid) + _dns_template(name, tuple(answers), True, qtype, rcode)[2:]
        self.frames.append((ts, udp_datagram(client, server, sport, 53, q)))
        self.frames.append((round(ts + 0.002, 6), udp_datagram(server, client, 53, sport, r)))

    def lookup(self, client: str, name: str, ts: float, ip: str | None = None) -> str:
        """A lookup through the hospital resolver (forwarded upstream when the name is external)."""
        ip = ip or INTERNAL_NAMES.get(name) or f"203.0.113.{10 + sum(name.encode()) % 200}"
        self.dns(client, RESOLVER, name, [(name, ip)], ts)
        if name not in INTERNAL_NAMES:
            self.dns(RESOLVER, UPSTREAM, name, [(name, ip)], round(ts + 0.0005, 6))
        return ip

    def tcp(
        self,
        client: str,
        server: str,
        dport: int,
        ts: float,
        turns: list[tuple[bool, bytes]],
        answered: bool = True,
    ) -> None:
        self.frames += tcp_exchange(client, server, self.port(), dport, ts, turns, answered)

    def tls(self, client: str, server: str, sni: str, ts: float, port: int = 443) -> None:
        rnd = self.rnd.randbytes(32)
        turns = [(True, client_hello(sni, rnd)), (False, server_hello_stub(rnd[::-1])),
                 (True, b"\x17\x03\x03\x00\x40" + self.rnd.randbytes(64)),
                 (False, b"\x17\x03\x03\x01\x00" + self.rnd.randbytes(256))]  # fmt: skip
        self.tcp(client, server, port, ts, turns)

    def http(
        self,
        client: str,
        server: str,
        host: str,
        uri: str,
        ts: float,
        port: int = 80,
        auth: str | None = None,
    ) -> None:
        req = (
            f"GET {uri} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64)\r\n"
        )
        if auth:
            req += f"Authorization: Basic {base64.b64encode(auth.encode()).decode()}\r\n"
        req += "Accept: */*\r\n\r\n"
        body = b"{}" * self.rnd.randrange(10, 200)
        resp = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body
        )
        self.tcp(client, server, port, ts, [(True, req.encode()), (False, resp)])

    def inject(self, category: str, src: str, indicator: str, rule: str, note: str, **more: Any) -> None:
        """One injected attack. ``more`` may hold ``indicators`` (every indicator the detector may
        legitimately name for it, when that depends on which of its events tips the count) and ``also``
        (other alerts the same traffic raises by design, e.g. a Sigma rule on the same lookup)."""
        self.attacks.append(
            {"category": category, "src_ip": src, "indicator": indicator, "rule": rule, "note": note, **more}
        )

    def probe(self, client: str, server: str, sport: int, dport: int, ts: float, reply: str) -> None:
        """One scan probe: a bare SYN, answered by a RST (closed port), a SYN-ACK that the scanner
        resets (open port, half-open scan) or nothing (filtered)."""
        self.frames.append((ts, tcp_segment(client, server, sport, dport, 7000, 0, SYN)))
        if reply == "closed":
            self.frames.append((ts + 0.0003, tcp_segment(server, client, dport, sport, 0, 7001, RST | ACK)))
        elif reply == "open":
            self.frames.append(
                (ts + 0.0003, tcp_segment(server, client, dport, sport, 9000, 7001, SYN | ACK))
            )
            self.frames.append((ts + 0.0006, tcp_segment(client, server, sport, dport, 7001, 0, RST)))

    # -- hosts -------------------------------------------------------------------------------------
    def ward(self) -> str:
        return f"10.20.{self.rnd.randrange(0, 4)}.{self.rnd.randrange(100, 250)}"

    def office(self) -> str:
        return f"10.30.0.{self.rnd.randrange(100, 250)}"

    def guest(self) -> str:
        return f"172.16.{self.rnd.randrange(2, 15)}.{self.rnd.randrange(2, 250)}"

    # -- normal traffic ----------------------------------------------------------------------------
    def normal(self, sessions: int) -> None:
        kinds = [
            "his",
            "emr",
            "pacs",
            "lis",
            "web",
            "guest",
            "secret",
            "ssh",
            "imaps",
            "smtp",
            "ntp",
            "mdns",
            "portal",
        ]
        weights = [20, 15, 6, 6, 20, 12, 3, 2, 4, 2, 2, 2, 6]
        for _ in range(sessions):
            kind = self.rnd.choices(kinds, weights)[0]
            ts = self.t()
            getattr(self, f"_n_{kind}")(ts)

    def _n_his(self, ts: float) -> None:
        c = self.ward()
        self.lookup(c, "his.benhvien.local", ts)
        self.tls(c, HIS, "his.benhvien.local", ts + 0.01)

    def _n_emr(self, ts: float) -> None:
        c = self.ward()
        self.lookup(c, "emr.benhvien.local", ts)
        self.http(
            c,
            EMR,
            "emr.benhvien.local:8080",
            f"/api/benhan/{self.rnd.randrange(10**5, 10**6)}",
            ts + 0.01,
            8080,
        )

    def _n_pacs(self, ts: float) -> None:
        c = self.ward()
        assoc = b"\x01\x00\x00\x00\x00\xcd\x00\x01\x00\x00" + b"PACS".ljust(16) + b"WARD-WS".ljust(16)
        self.tcp(c, PACS, 104, ts, [(True, assoc), (False, b"\x02\x00\x00\x00\x00\xb8" + self.rnd.randbytes(184)),
                                    (False, self.rnd.randbytes(4000))])  # fmt: skip

    def _n_lis(self, ts: float) -> None:
        c = self.ward()
        self.lookup(c, "lis.benhvien.local", ts)
        self.tls(c, LIS, "lis.benhvien.local", ts + 0.01, 8443)

    def _n_web(self, ts: float) -> None:
        c = self.office() if self.rnd.random() < 0.6 else self.ward()
        name = self.rnd.choice(WEB_NAMES)
        ip = self.lookup(c, name, ts)
        self.tls(c, ip, name, ts + 0.02)

    def _n_guest(self, ts: float) -> None:
        c = self.guest()
        name = self.rnd.choice(GUEST_NAMES)
        ip = f"203.0.113.{20 + self.rnd.randrange(0, 50)}"
        self.dns(c, "8.8.8.8", name, [(name, ip)], ts)  # guest Wi-Fi hands out a public resolver
        self.tls(c, ip, name, ts + 0.02)

    def _n_secret(self, ts: float) -> None:
        a, b = f"10.99.0.{self.rnd.randrange(5, 20)}", "10.99.0.2"
        self.tcp(
            a,
            b,
            445,
            ts,
            [(True, b"\x00\x00\x00\x54\xfeSMB" + self.rnd.randbytes(80)), (False, self.rnd.randbytes(200))],
        )

    def _n_ssh(self, ts: float) -> None:
        self.tcp(self.office(), SSH_HOST, 22, ts, [(False, b"SSH-2.0-OpenSSH_9.2\r\n"), (True, b"SSH-2.0-PuTTY_0.80\r\n"),
                                                   (True, self.rnd.randbytes(600))])  # fmt: skip

    def _n_imaps(self, ts: float) -> None:
        c = self.ward()
        self.lookup(c, "mail.benhvien.local", ts)
        self.tls(c, MAIL, "mail.benhvien.local", ts + 0.01, 993)

    def _n_smtp(self, ts: float) -> None:
        turns = [(False, b"220 mx.example ESMTP\r\n"), (True, b"EHLO mail.benhvien.local\r\n"), (False, b"250 ok\r\n"),
                 (True, b"MAIL FROM:<noreply@benhvien.local>\r\n"), (False, b"250 ok\r\n"), (True, b"QUIT\r\n"),
                 (False, b"221 bye\r\n")]  # fmt: skip
        self.tcp(MAIL, "203.0.113.25", 25, ts, turns)

    def _n_ntp(self, ts: float) -> None:
        sport = self.port()
        self.frames.append((ts, udp_datagram("10.40.0.5", "203.0.113.123", sport, 123, b"\x23" + bytes(47))))
        self.frames.append(
            (ts + 0.01, udp_datagram("203.0.113.123", "10.40.0.5", 123, sport, b"\x24" + bytes(47)))
        )

    def _n_mdns(self, ts: float) -> None:
        host = f"10.99.0.{self.rnd.randrange(5, 20)}"
        self.frames.append(
            (ts, udp_datagram(host, "224.0.0.251", 5353, 5353, _dns_template("printer.local", (), False)))
        )

    def _n_portal(self, ts: float) -> None:
        c = f"203.0.113.{self.rnd.randrange(100, 140)}"  # citizens booking appointments on the public portal
        self.tls(c, PORTAL, "datlich.benhvien.vn", ts)

    # -- attacks -----------------------------------------------------------------------------------
    def attacks_all(self) -> None:
        t = self.t
        # threat feeds
        c = "10.20.0.31"
        self.lookup(c, "beacon.evil-c2.example", t(), "203.0.113.201")
        self.inject(
            "threat_feed_domain", c, "evil-c2.example", "feed.dns.query", "DNS query of a listed domain"
        )
        c = "10.30.0.12"
        ts = t()
        self.dns(c, RESOLVER, "cdn.innocent-site.example",
                 [("cdn.innocent-site.example", "tracker.bad-cname.example"), ("tracker.bad-cname.example", "203.0.113.202")], ts)  # fmt: skip
        self.inject(
            "threat_feed_domain", c, "bad-cname.example", "feed.dns.cname", "listed name in the CNAME chain"
        )
        c = "10.30.0.13"
        self.tls(c, "203.0.113.203", "login.phish-bank.example", t())
        self.inject(
            "threat_feed_domain", c, "phish-bank.example", "feed.tls.sni", "TLS SNI of a listed domain"
        )
        c = "10.20.0.32"
        self.http(c, "203.0.113.204", "malware-drop.example", "/payload.exe", t())
        self.inject(
            "threat_feed_domain",
            c,
            "malware-drop.example",
            "feed.http.host",
            "HTTP Host of a listed domain",
            also=[_alert("sigma", c, "malware-drop.example", SIGMA_EXE_HTTP)],
        )
        c = "10.30.0.14"
        self.http(c, "45.67.89.10", "45.67.89.10:8080", "/gate.php", t(), 8080)
        self.inject("threat_feed_ip", c, "45.67.89.10", "feed.conn.ip", "connection to a listed address")
        c = "10.20.0.33"
        self.dns(c, RESOLVER, "files.cloudstore.example", [("files.cloudstore.example", "91.200.12.34")], t())
        self.inject(
            "threat_feed_ip", c, "91.200.12.34", "feed.dns.answer", "DNS answer with a listed address"
        )
        self.tls("5.188.10.7", PORTAL, "datlich.benhvien.vn", t())
        self.inject(
            "threat_feed_ip", "5.188.10.7", "5.188.10.0/24", "feed.conn.ip", "inbound from a listed range"
        )
        # remote access
        c = "10.20.0.40"
        self.lookup(c, "ping3.teamviewer.com", t(), "203.0.113.160")
        self.inject(
            "policy_remote_access",
            c,
            "teamviewer.com",
            "policy.remote_access.domain",
            "TeamViewer lookup",
            also=[_alert("sigma", c, "ping3.teamviewer.com", SIGMA_REMOTE_DNS)],
        )
        self.tcp(
            c,
            "203.0.113.160",
            5938,
            t(),
            [(True, b"\x17\x24\x0a\x20" + bytes(28)), (False, b"\x17\x24\x0b\x20" + bytes(28))],
        )
        self.inject(
            "policy_remote_access",
            c,
            "5938/tcp",
            "policy.remote_access.port",
            "TeamViewer port to the internet",
        )
        c = "10.30.0.20"
        self.tls(c, "203.0.113.161", "relay-1.net.anydesk.com", t())
        self.inject(
            "policy_remote_access",
            c,
            "net.anydesk.com",
            "policy.remote_access.domain",
            "AnyDesk SNI",
            also=[_alert("sigma", c, "relay-1.net.anydesk.com", SIGMA_REMOTE_TLS)],
        )
        self.tcp(
            "203.0.113.200",
            "10.30.0.21",
            3389,
            t(),
            [
                (True, b"\x03\x00\x00\x13\x0e\xe0" + bytes(13)),
                (False, b"\x03\x00\x00\x13\x0e\xd0" + bytes(13)),
            ],
        )
        self.inject(
            "policy_remote_access",
            "203.0.113.200",
            "3389/tcp",
            "policy.remote_access.port",
            "inbound RDP from the internet",
        )
        c = "10.20.0.41"
        self.lookup(c, "download.ultraviewer.net", t(), "203.0.113.162")
        self.inject(
            "policy_remote_access",
            c,
            "ultraviewer.net",
            "policy.remote_access.domain",
            "UltraViewer lookup",
            also=[_alert("sigma", c, "download.ultraviewer.net", SIGMA_REMOTE_DNS)],
        )
        # OTT from clinical zones
        c = "10.20.0.50"
        self.lookup(c, "chat.zalo.me", t(), "203.0.113.170")
        self.inject("policy_ott", c, "zalo.me", "policy.ott.domain", "Zalo from a ward workstation")
        c = "10.11.0.51"
        self.tls(c, "203.0.113.171", "web.telegram.org", t())
        self.inject("policy_ott", c, "telegram.org", "policy.ott.domain", "Telegram Web from the EMR segment")
        c = "10.20.0.52"
        self.tcp(
            c, "149.154.167.51", 443, t(), [(True, self.rnd.randbytes(120)), (False, self.rnd.randbytes(300))]
        )
        self.inject("policy_ott", c, "149.154.160.0/20", "policy.ott.ip", "Telegram address range, no SNI")
        # cleartext logins
        c = "10.30.0.30"
        ftp = [(False, b"220 FileZilla Server\r\n"), (True, b"USER ketoan\r\n"), (False, b"331 Password required\r\n"),
               (True, b"PASS Xk9#mQ2v!pLz\r\n"), (False, b"230 Logged on\r\n"), (True, b"QUIT\r\n"), (False, b"221 Goodbye\r\n")]  # fmt: skip
        self.tcp(c, FILES, 21, t(), ftp)
        self.inject(
            "policy_plaintext", c, f"ftp://{FILES}", "policy.plaintext.login", "FTP login, strong password"
        )
        c = "10.20.0.60"
        pop = [(False, b"+OK POP3 ready\r\n"), (True, b"USER bacsi01\r\n"), (False, b"+OK\r\n"), (True, b"PASS 123456\r\n"),
               (False, b"+OK logged in\r\n"), (True, b"QUIT\r\n"), (False, b"+OK bye\r\n")]  # fmt: skip
        self.tcp(c, MAIL, 110, t(), pop)
        self.inject(
            "policy_weak_password",
            c,
            f"pop3://bacsi01@{MAIL}",
            "policy.weak_password.login",
            "POP3 with 123456",
            also=[_alert("policy_plaintext", c, f"pop3://{MAIL}", "policy.plaintext.login")],
        )
        c = "10.30.0.31"
        self.http(c, "10.12.0.20", "pacs-web.benhvien.local", "/admin/", t(), 80, auth="admin:admin")
        self.inject(
            "policy_weak_password",
            c,
            "http://admin@10.12.0.20",
            "policy.weak_password.login",
            "PACS web admin:admin",
            also=[_alert("policy_plaintext", c, "http://10.12.0.20", "policy.plaintext.login")],
        )
        # segmentation
        c = "172.16.1.23"
        self.tls(c, HIS, "his.benhvien.local", t())
        self.inject(
            "policy_segmentation", c, "his", "policy.segmentation.zone", "guest Wi-Fi reaches the HIS"
        )
        c = "172.16.1.24"
        self.tcp(c, EMR, 8080, t(), [], answered=False)
        self.inject("policy_segmentation", c, "emr", "policy.segmentation.zone", "guest Wi-Fi SYN to the EMR")
        # air gap
        c = "10.99.0.7"
        self.tcp(
            c, "203.0.113.180", 443, t(), [(True, self.rnd.randbytes(200)), (False, self.rnd.randbytes(200))]
        )
        self.inject(
            "policy_airgap",
            c,
            "203.0.113.180",
            "policy.airgap.crossing",
            "secret LAN host talks to the internet",
        )
        c = "10.20.0.70"
        self.tcp(c, "10.99.0.5", 445, t(), [(True, b"\x00\x00\x00\x54\xfeSMB" + bytes(80))])
        self.inject(
            "policy_airgap",
            c,
            "secret-lan",
            "policy.airgap.crossing",
            "ward PC opens SMB into the secret LAN",
        )
        # DNS bypass
        c = "10.20.0.80"
        self.dns(c, "8.8.8.8", "example.org", [("example.org", "203.0.113.90")], t())
        self.inject(
            "policy_dns_bypass", c, "8.8.8.8", "policy.dns_bypass.direct", "port 53 straight to Google DNS"
        )
        c = "10.30.0.40"
        self.tls(c, "104.16.248.249", "cloudflare-dns.com", t())
        self.inject(
            "policy_dns_bypass",
            c,
            "cloudflare-dns.com",
            "policy.dns_bypass.doh",
            "DNS over HTTPS to Cloudflare",
        )
        c = "10.30.0.41"
        self.tls(c, "1.1.1.1", "one.one.one.one", t(), 853)
        self.inject("policy_dns_bypass", c, "1.1.1.1", "policy.dns_bypass.dot", "DNS over TLS to 1.1.1.1")
        self.inject(
            "policy_dns_bypass",
            c,
            "one.one.one.one",
            "policy.dns_bypass.doh",
            "its SNI names a public resolver",
        )

    # -- behavioural attacks (issue 5) -------------------------------------------------------------
    def start(self, needed: float) -> float:
        """A start time that leaves ``needed`` seconds before the end of the capture."""
        return round(BASE_TS + 5 + self.rnd.uniform(0, SPAN - needed - 10), 6)

    def attacks_behaviour(self) -> None:
        rnd = self.rnd
        # beaconing: a ward PC's implant checks in with its C2 every ~30 s, same request each time
        c, c2 = "10.20.1.77", "198.51.100.23"
        ts = self.start(28 * 30.5)
        for _ in range(28):
            self.tls(c, c2, "api.cdn-metrics.com", ts)
            ts = round(ts + 30 + rnd.uniform(-0.5, 0.5), 6)
        self.inject("beacon", c, c2, "behaviour.beacon", "TLS check-in every ~30 s, constant size")
        # DNS tunnel: TXT queries carrying base32 data (two 32-character labels, dnscat2-style) through
        # the hospital resolver, which forwards them to the tunnel's name server
        c, zone = "10.20.3.88", "cdn-telemetry.net"
        ts = self.start(45 * 3.0)
        for i in range(45):
            data = base64.b32encode(rnd.randbytes(40)).decode().lower()
            name = f"{data[:32]}.{data[32:]}{i:02x}.t.{zone}"
            answer = [(name, base64.b64encode(rnd.randbytes(90)).decode())]
            self.dns(c, RESOLVER, name, answer, ts, "TXT")
            self.dns(RESOLVER, UPSTREAM, name, answer, round(ts + 0.0005, 6), "TXT")
            ts = round(ts + rnd.uniform(1.0, 3.0), 6)
        self.inject("dns_tunnel", c, zone, "behaviour.dns_tunnel", "45 TXT queries with base32 data names")
        # DGA: an infected office PC tries random .com names; none is registered (NXDOMAIN)
        c = "10.30.0.77"
        ts = self.start(60)
        names = []
        for _ in range(10):
            name = (
                "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(12, 15))) + ".com"
            )
            names.append(name)
            self.dns(c, RESOLVER, name, [], ts, rcode=3)
            self.dns(RESOLVER, UPSTREAM, name, [], round(ts + 0.0005, 6), rcode=3)
            ts = round(ts + rnd.uniform(0.5, 5.0), 6)
        # which lookup tips the host over the detector's count depends on how random each name looks,
        # so any of them may be the indicator; single names may be reported before (rule dga.name)
        self.inject("dga", c, names[0], "behaviour.dga.host", "10 NXDOMAIN lookups of random .com names",
                    indicators=names)  # fmt: skip
        # vertical scan: an office PC SYN-scans 40 ports of the SSH server (a few open, most closed)
        c = "10.30.0.66"
        ts, sport = self.start(10), self.port()
        ports = [21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1433, 1521, 1723,
                 2049, 3306, 3389, 5432, 5900, 5985, 6379, 8000, 8080, 8443, 8888, 9000, 9090, 9200,
                 10000, 11211, 27017, 50000, 161, 389, 636, 873]  # fmt: skip
        for dport in ports:
            self.probe(c, SSH_HOST, sport, dport, ts, "open" if dport == 22 else "closed")
            ts = round(ts + 0.05, 6)
        self.inject("port_scan", c, SSH_HOST, "behaviour.port_scan.vertical", "SYN scan of 40 ports")
        # horizontal sweep: a ward PC (a worm) probes SMB on 30 other ward hosts
        c = "10.20.2.66"
        ts = self.start(10)
        for k in range(30):
            reply = ("closed", "none", "open")[k % 3]
            self.probe(c, f"10.20.{k % 4}.{10 + k}", self.port(), 445, ts, reply)
            ts = round(ts + 0.1, 6)
        self.inject("port_scan", c, "445/tcp", "behaviour.port_scan.horizontal", "SMB sweep of 30 ward hosts")
        # exfiltration: an EMR-zone host uploads 3 MB to an internet address (the synthetic config's
        # EMR floor is 2 MB per hour, see config_text)
        c, dst = "10.11.0.30", "198.51.100.90"
        rnd32 = rnd.randbytes(32)
        turns = [(True, client_hello("upload.storage-box.net", rnd32)), (False, server_hello_stub(rnd32[::-1])),
                 (True, rnd.randbytes(3_000_000)), (False, b"\x17\x03\x03\x00\x20" + rnd.randbytes(32))]  # fmt: skip
        self.tcp(c, dst, 443, self.start(5), turns)
        self.inject(
            "exfiltration", c, dst, "behaviour.exfiltration.host", "3 MB from an EMR host to the internet"
        )
        # NXDOMAIN burst: an office PC enumerates subdomains of the hospital's public domain
        c, target = "10.30.0.78", "benhvien.vn"
        ts = self.start(60)
        words = ["admin", "vpn", "dev", "test", "staging", "backup", "intranet", "old", "beta", "git",
                 "jenkins", "sso", "webmail", "ftp", "db", "api2", "remote", "owa", "citrix", "hr",
                 "ketoan", "noibo", "pacs2", "his2", "emr2", "monitor", "nas", "camera", "wifi", "cloud"]  # fmt: skip
        for w in words:
            self.dns(c, RESOLVER, f"{w}.{target}", [], ts, rcode=3)
            self.dns(RESOLVER, UPSTREAM, f"{w}.{target}", [], round(ts + 0.0005, 6), rcode=3)
            ts = round(ts + rnd.uniform(0.2, 1.5), 6)
        self.inject(
            "nxdomain_burst", c, target, "behaviour.nxdomain_burst", "30 NXDOMAIN answers in a minute"
        )


def _data(name: str) -> Path:
    return Path(str(resources.files(__package__).joinpath("data", name)))


def config_text(out_dir: Path) -> str:
    """The config that describes the generated network (segments, synthetic feeds, resolver)."""
    import yaml

    doc = {
        "data_dir": str((out_dir / "var").resolve()),
        "segments": SEGMENTS,
        "feeds": [
            {"name": "synth-domains", "path": str(_data("feed-domains.txt")), "format": "maltrail"},
            {"name": "synth-ips", "path": str(_data("feed-ips.txt")), "format": "maltrail"},
        ],
        "detectors": {
            "dns_bypass": {"resolvers": [RESOLVER]},
            "noise": {"window": "5m"},
            "exfiltration": {"zone_floors": EXFIL_FLOORS},
        },
    }
    return (
        "# Generated by `wardwatch synth`: the synthetic hospital's segments, feeds and settings.\n"
        "# detectors.exfiltration.zone_floors is lowered (production defaults: 50 MB/h for emr, 100 MB/h\n"
        "# for his, lis, server) so that the capture's 3 MB upload from the EMR segment is reported.\n"
        + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    )


def generate(out_dir: str | Path, seed: int = 1, sessions: int = 400, duplicate: bool = False) -> Result:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    g = _Gen(seed)
    g.normal(sessions)
    g.attacks_all()
    g.attacks_behaviour()
    frames = sorted(g.frames, key=lambda f: f[0])
    pcap = out / ("hospital-dup.pcap" if duplicate else "hospital.pcap")
    n = write_pcap(pcap, frames, duplicate=duplicate)
    injected = out / "injected.json"
    injected.write_bytes(orjson.dumps(g.attacks, option=orjson.OPT_INDENT_2))
    config = out / "hospital.yaml"
    config.write_text(config_text(out), encoding="utf-8")
    return Result(pcap, injected, config, n, g.attacks)
