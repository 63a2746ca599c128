"""The words of ``ingest/``'s inputs (flow collector, Zeek and Suricata log import): key →
(Vietnamese, English), str.format templates with the same placeholders on both sides."""

from __future__ import annotations

from collections.abc import Mapping

MESSAGES: Mapping[str, tuple[str, str]] = {
    "ingest.external_alert": (
        "Cảnh báo từ {engine}: {signature}",
        "Alert from {engine}: {signature}",
    ),
    "ingest.collect_listening": (
        "Đang nhận NetFlow/IPFIX tại {address} (UDP)",
        "Receiving NetFlow/IPFIX on {address} (UDP)",
    ),
    "ingest.collect_following": (
        "Đang đọc nhật ký {kind} tại {path}",
        "Following {kind} logs at {path}",
    ),
    "ingest.collect_nothing": (
        "Cấu hình không có đầu vào nào (inputs.netflow, inputs.zeek, inputs.eve)",
        "The config has no input (inputs.netflow, inputs.zeek, inputs.eve)",
    ),
    "ingest.collect_cannot_listen": (
        "Không thể lắng nghe tại {address}: {reason}",
        "Cannot listen on {address}: {reason}",
    ),
    "ingest.collect_summary": (
        "Đã nhận {records} bản ghi, {alerts} cảnh báo; bỏ qua {dropped} dòng/gói hỏng",
        "Received {records} records, {alerts} alerts; {dropped} malformed lines/datagrams dropped",
    ),
    "ingest.needs_packets": (
        "cần nội dung gói tin (DNS, TLS, HTTP): không hoạt động với NetFlow/IPFIX",
        "needs packet contents (DNS, TLS, HTTP): blind on NetFlow/IPFIX",
    ),
}
