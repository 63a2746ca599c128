"""The rules the behavioural detectors raise and the ``Alert`` each finding becomes.

Directives: BYT-CNTT-2021 asks for network monitoring and for finding devices that talk to malicious
domains (DGA, tunnels, beacons, NXDOMAIN bursts, scans); SYT-DBI-2026 asks to report data leaks and
unauthorised access around the EMR (exfiltration). Severity is the rule's base level plus one per
criticality step above ``medium`` of the most critical segment involved (as ``detectors.rules``),
plus any bump the detector gives (strength of the evidence), capped at ``critical``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wardwatch.alerts import Alert, severity_level, severity_name

from ..segments import DEFAULT_CRITICALITY, IpInfo


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
    Rule("behaviour.dga.host", "dga", "medium", ("T1568.002",), "BYT-CNTT-2021",
         "Máy {src} tra {count} tên miền giống sinh tự động (DGA) không tồn tại, ví dụ {indicator}",
         "{src} looked up {count} nonexistent algorithmically generated (DGA-like) names, e.g. {indicator}"),
    Rule("behaviour.dga.name", "dga", "low", ("T1568.002",), "BYT-CNTT-2021",
         "Máy {src} tra tên miền không tồn tại có dạng sinh tự động (DGA): {indicator}",
         "{src} looked up a nonexistent DGA-like name: {indicator}"),
    Rule("behaviour.dns_tunnel", "dns_tunnel", "high", ("T1071.004", "T1572", "T1048.003"), "BYT-CNTT-2021",
         "Máy {src} có dấu hiệu đường hầm DNS qua {indicator}: {names} tên con khác nhau, {bytes} byte trong tên",
         "{src} shows DNS tunnelling through {indicator}: {names} distinct subdomains, {bytes} bytes carried in names"),
    Rule("behaviour.beacon", "beacon", "medium", ("T1071", "T1573"), "BYT-CNTT-2021",
         "Máy {src} kết nối đều đặn tới {indicator} ({count} lần, chu kỳ ~{interval}s, điểm {score})",
         "{src} connects to {indicator} at regular intervals ({count} times, every ~{interval}s, score {score})"),
    Rule("behaviour.port_scan.vertical", "port_scan", "medium", ("T1046",), "BYT-CNTT-2021",
         "Máy {src} dò {ports} cổng trên {indicator} trong {window}s",
         "{src} probed {ports} ports on {indicator} within {window}s"),
    Rule("behaviour.port_scan.horizontal", "port_scan", "medium", ("T1046", "T1210"), "BYT-CNTT-2021",
         "Máy {src} dò cổng {indicator} trên {hosts} máy trong {window}s",
         "{src} probed port {indicator} on {hosts} hosts within {window}s"),
    Rule("behaviour.exfiltration.host", "exfiltration", "high", ("T1048", "T1041"), "SYT-DBI-2026",
         "Máy {src} ({zone}) gửi ra Internet {mb} MB trong {window}s (mức thường {baseline} MB), nhiều nhất tới {indicator}",
         "{src} ({zone}) sent {mb} MB to the internet within {window}s (usual {baseline} MB), most to {indicator}"),
    Rule("behaviour.exfiltration.segment", "exfiltration", "high", ("T1048", "T1041"), "SYT-DBI-2026",
         "Phân đoạn {segment} gửi ra Internet {mb} MB trong {window}s (mức thường {baseline} MB)",
         "Segment {segment} sent {mb} MB to the internet within {window}s (usual {baseline} MB)"),
    Rule("behaviour.nxdomain_burst", "nxdomain_burst", "medium", ("T1568.002", "T1046"), "BYT-CNTT-2021",
         "Máy {src} nhận {count} trả lời NXDOMAIN ({names} tên khác nhau) trong {window}s, nhiều nhất dưới {indicator}",
         "{src} got {count} NXDOMAIN answers ({names} distinct names) within {window}s, most under {indicator}"),
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
    values = _Blank(src=src.ip, dst=dst.ip if dst is not None else "?", zone=src.zone, indicator=indicator)
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
