"""Every rule this package raises: its category, base severity, ATT&CK techniques, the directive it
enforces and its summary in Vietnamese and English. ``make_alert`` turns a finding into an ``Alert``.

Severity grows with the criticality of the segments involved: a rule's base level, plus any bump the
detector gives (an accepted login, an established connection), plus one for each criticality step
above ``medium`` of the most critical segment on either side, capped at ``critical``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wardwatch.alerts import Alert, severity_level, severity_name

from .segments import DEFAULT_CRITICALITY, IpInfo


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    category: str
    severity: str
    mitre: tuple[str, ...]
    directive: str
    vi: str
    en: str


_R = [
    # -- threat feeds (BYT-CNTT-2021: find devices that connect to malicious domains) ---------------
    Rule("feed.dns.query", "threat_feed_domain", "medium", ("T1071.004",), "BYT-CNTT-2021",
         "Máy {src} truy vấn DNS tên miền độc hại {observed} (danh sách: {feeds})",
         "{src} looked up malicious domain {observed} (listed by {feeds})"),
    Rule("feed.dns.cname", "threat_feed_domain", "medium", ("T1071.004",), "BYT-CNTT-2021",
         "Máy {src} truy vấn {query}, được trả về tên độc hại {observed} (danh sách: {feeds})",
         "{src} looked up {query}, answered with malicious name {observed} (listed by {feeds})"),
    Rule("feed.dns.answer", "threat_feed_ip", "medium", ("T1071.004",), "BYT-CNTT-2021",
         "Máy {src} truy vấn {query}, được trả về địa chỉ độc hại {observed} (danh sách: {feeds})",
         "{src} looked up {query}, answered with malicious address {observed} (listed by {feeds})"),
    Rule("feed.tls.sni", "threat_feed_domain", "high", ("T1071.001", "T1573"), "BYT-CNTT-2021",
         "Máy {src} mở kết nối TLS tới tên miền độc hại {observed} (danh sách: {feeds})",
         "{src} opened TLS to malicious domain {observed} (listed by {feeds})"),
    Rule("feed.http.host", "threat_feed_domain", "high", ("T1071.001",), "BYT-CNTT-2021",
         "Máy {src} gửi yêu cầu HTTP tới tên miền độc hại {observed} (danh sách: {feeds})",
         "{src} sent an HTTP request to malicious domain {observed} (listed by {feeds})"),
    Rule("feed.conn.ip", "threat_feed_ip", "medium", ("T1071",), "BYT-CNTT-2021",
         "Kết nối {src} → {dst}:{port} với địa chỉ độc hại {observed} (danh sách: {feeds})",
         "Connection {src} → {dst}:{port} involves malicious address {observed} (listed by {feeds})"),
    # -- remote access (SYT-BDI-2024: remove TeamViewer, UltraViewer…) ------------------------------
    Rule("policy.remote_access.domain", "policy_remote_access", "medium", ("T1219",), "SYT-BDI-2024",
         "Máy {src} dùng phần mềm truy cập từ xa {app} ({observed})",
         "{src} uses remote-access tool {app} ({observed})"),
    Rule("policy.remote_access.port", "policy_remote_access", "medium", ("T1219", "T1133"), "SYT-BDI-2024",
         "Kết nối truy cập từ xa {app} qua Internet: {src} → {dst}:{port}",
         "Remote-access connection ({app}) across the internet edge: {src} → {dst}:{port}"),
    # -- OTT (SYT-BDI-2024, SYT-TTH-2021) -------------------------------------------------------------
    Rule("policy.ott.domain", "policy_ott", "low", ("T1567",), "SYT-BDI-2024",
         "Máy {src} trong vùng {zone} dùng ứng dụng OTT {app} ({observed})",
         "{src} in zone {zone} uses OTT messaging app {app} ({observed})"),
    Rule("policy.ott.ip", "policy_ott", "low", ("T1567",), "SYT-BDI-2024",
         "Máy {src} trong vùng {zone} kết nối máy chủ OTT {app} {dst}",
         "{src} in zone {zone} connects to {app} server {dst}"),
    # -- passwords and cleartext (BYT-CNTT-2021: strong passwords, encrypted connections) ------------
    Rule("policy.plaintext.login", "policy_plaintext", "low", ("T1040",), "BYT-CNTT-2021",
         "Đăng nhập {service} không mã hóa từ {src} tới {dst} (tài khoản {user})",
         "Cleartext {service} login from {src} to {dst} (user {user})"),
    Rule("policy.weak_password.login", "policy_weak_password", "medium", ("T1078.001", "T1110"), "BYT-CNTT-2021",
         "Mật khẩu yếu/mặc định khi đăng nhập {service} không mã hóa từ {src} tới {dst} (tài khoản {user})",
         "Weak or default password in a cleartext {service} login from {src} to {dst} (user {user})"),
    # -- segmentation (SYT-BDI-2024: separate the citizen network) -----------------------------------
    Rule("policy.segmentation.zone", "policy_segmentation", "medium", ("T1599",), "SYT-BDI-2024",
         "Vùng {zone} ({src}) truy cập vùng bị cấm {dst_zone} ({dst}:{port}, phân đoạn {dst_segment})",
         "Zone {zone} ({src}) reached forbidden zone {dst_zone} ({dst}:{port}, segment {dst_segment})"),
    # -- air gap (SYT-TTH-2021: never connect the secret network) ------------------------------------
    Rule("policy.airgap.crossing", "policy_airgap", "high", ("T1599",), "SYT-TTH-2021",
         "Lưu lượng vượt ranh giới mạng mật: {src} ({zone}) → {dst} ({dst_zone}), cổng {port}",
         "Traffic crosses the secret network's boundary: {src} ({zone}) → {dst} ({dst_zone}), port {port}"),
    # -- DNS bypass (BYT-CNTT-2021: network monitoring needs the hospital resolver) ------------------
    Rule("policy.dns_bypass.direct", "policy_dns_bypass", "low", ("T1071.004",), "BYT-CNTT-2021",
         "Máy {src} gửi DNS thẳng ra Internet tới {dst}, bỏ qua máy chủ DNS của bệnh viện",
         "{src} sends DNS straight to {dst} on the internet, bypassing the hospital resolver"),
    Rule("policy.dns_bypass.dot", "policy_dns_bypass", "low", ("T1071.004", "T1572"), "BYT-CNTT-2021",
         "Máy {src} dùng DNS-over-TLS tới {dst}, bỏ qua máy chủ DNS của bệnh viện",
         "{src} uses DNS over TLS to {dst}, bypassing the hospital resolver"),
    Rule("policy.dns_bypass.doh", "policy_dns_bypass", "low", ("T1071.004", "T1572"), "BYT-CNTT-2021",
         "Máy {src} dùng DNS-over-HTTPS ({observed}), bỏ qua máy chủ DNS của bệnh viện",
         "{src} uses DNS over HTTPS ({observed}), bypassing the hospital resolver"),
]  # fmt: skip
RULES: dict[str, Rule] = {r.id: r for r in _R}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def make_alert(
    rule_id: str,
    ts: float,
    src: IpInfo,
    dst: IpInfo | None,
    indicator: str,
    evidence: dict[str, Any],
    bump: int = 0,
    **fmt: Any,
) -> Alert:
    rule = RULES[rule_id]
    crit = max(
        (i.criticality for i in (src, dst) if i is not None and i.segment is not None),
        default=DEFAULT_CRITICALITY,
    )
    level = severity_level(rule.severity) + bump + max(0, crit - DEFAULT_CRITICALITY)
    values = _Blank(
        src=src.ip,
        dst=dst.ip if dst is not None else "?",
        zone=src.zone,
        dst_zone=dst.zone if dst is not None else "?",
        dst_segment=dst.segment.name if dst is not None and dst.segment else "-",
        indicator=indicator,
        observed=indicator,
    )
    values.update(fmt)
    return Alert(
        ts=ts,
        category=rule.category,
        severity=severity_name(level),
        src_ip=src.ip,
        dst_ip=dst.ip if dst is not None else None,
        indicator=indicator,
        rule=rule.id,
        summary={"vi": rule.vi.format_map(values), "en": rule.en.format_map(values)},
        evidence=evidence,
        mitre=rule.mitre,
        directive=rule.directive,
        segment=src.segment.name if src.segment else None,
        dst_segment=dst.segment.name if dst is not None and dst.segment else None,
    )
