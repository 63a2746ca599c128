"""The one catalogue of user-facing text: (Vietnamese, English) pairs.

Every command, notifier, report and console reads its words from here, so that one concept has one
term everywhere (the terms follow the Ministry of Health's orders; see the project's Vietnamese
glossary). Vietnamese comes first: the operators read it first.

    vi, en = category("policy_airgap")
    sys.stderr.write(say("run.stored", records=12, alerts=3, where="var/store"))  # two lines, vi then en
"""

from __future__ import annotations

from collections.abc import Mapping

Pair = tuple[str, str]

# Every alert category of wardwatch.alerts.CATEGORIES (a unit test keeps the two in step).
CATEGORIES: Mapping[str, Pair] = {
    "threat_feed_domain": (
        "Truy vấn tên miền độc hại (nguồn tin tình báo mối đe dọa)",
        "Lookup of a malicious domain (threat feed)",
    ),
    "threat_feed_ip": (
        "Kết nối tới địa chỉ IP độc hại (nguồn tin tình báo mối đe dọa)",
        "Connection to a malicious IP address (threat feed)",
    ),
    "sigma": ("Khớp luật phát hiện Sigma", "Sigma detection rule matched"),
    "dga": (
        "Tên miền sinh tự động (dấu hiệu mã độc, DGA)",
        "Algorithmically generated domains (malware sign, DGA)",
    ),
    "dns_tunnel": ("Đường hầm DNS", "DNS tunnel"),
    "beacon": (
        "Kết nối định kỳ tới máy chủ điều khiển (C2)",
        "Beaconing to a command-and-control server (C2)",
    ),
    "port_scan": ("Dò quét cổng", "Port scan"),
    "exfiltration": ("Rò rỉ / đánh cắp dữ liệu ra Internet", "Data exfiltration to the internet"),
    "nxdomain_burst": (
        "Hàng loạt truy vấn tên miền không tồn tại (NXDOMAIN)",
        "Burst of lookups of non-existent domains (NXDOMAIN)",
    ),
    "policy_remote_access": ("Sử dụng phần mềm truy cập từ xa", "Remote-access software in use"),
    "policy_ott": ("Sử dụng ứng dụng nhắn tin OTT", "OTT messaging app in use"),
    "policy_plaintext": ("Đăng nhập không mã hóa", "Cleartext (unencrypted) login"),
    "policy_weak_password": (
        "Mật khẩu yếu hoặc mật khẩu mặc định",
        "Weak or default password",
    ),
    "policy_segmentation": ("Vi phạm phân tách vùng mạng", "Network segmentation breach"),
    "policy_airgap": (
        "Kết nối từ mạng chứa thông tin bí mật nhà nước ra Internet",
        "Air-gapped (state-secret) network reached the internet",
    ),
    "policy_dns_bypass": (
        "Phân giải DNS vượt qua máy chủ DNS của bệnh viện",
        "DNS resolution bypassing the hospital's resolver",
    ),
    # sensor health (the architecture's contract)
    "sensor_silent": ("Cảm biến giám sát không gửi dữ liệu", "Sensor silent"),
    "sensor_drops": ("Cảm biến giám sát bỏ sót gói tin", "Sensor dropping packets"),
    "sensor_overload": ("Cảm biến giám sát quá tải", "Sensor overloaded"),
}

SEVERITIES: Mapping[str, Pair] = {
    "critical": ("nghiêm trọng", "critical"),
    "high": ("cao", "high"),
    "medium": ("trung bình", "medium"),
    "low": ("thấp", "low"),
}
SEVERITY_ORDER = ("critical", "high", "medium", "low")

ZONES: Mapping[str, Pair] = {
    "his": ("Hệ thống thông tin bệnh viện (HIS)", "Hospital information system (HIS)"),
    "emr": ("Hồ sơ bệnh án điện tử (EMR)", "Electronic medical records (EMR)"),
    "pacs": ("Lưu trữ và truyền hình ảnh (PACS)", "Imaging archive (PACS)"),
    "lis": ("Hệ thống thông tin xét nghiệm (LIS)", "Laboratory information system (LIS)"),
    "clinical": ("Vùng mạng lâm sàng", "Clinical network"),
    "server": ("Vùng máy chủ", "Server zone"),
    "admin": ("Vùng mạng hành chính", "Administration network"),
    "guest": ("Vùng mạng dành cho công dân (khách)", "Guest network"),
    "airgap": (
        "Mạng chứa thông tin bí mật nhà nước",
        "State-secret (air-gapped) network",
    ),
    "dmz": ("Vùng DMZ", "DMZ"),
    "iot": ("Vùng thiết bị IoT", "IoT devices"),
}

# CLI messages: str.format templates, the same placeholders on both sides.
MESSAGES: Mapping[str, Pair] = {
    "run.done": (
        "đã xử lý {records:,} bản ghi, {alerts:,} cảnh báo trong {seconds:.2f} giây",
        "processed {records:,} records, {alerts:,} alerts in {seconds:.2f}s",
    ),
    "run.stored": (
        "đã lưu {records:,} bản ghi và {alerts:,} cảnh báo vào {where}",
        "stored {records:,} records and {alerts:,} alerts in {where}",
    ),
    "run.sent": (
        "đã gửi {records:,} bản ghi và {alerts:,} cảnh báo tới {where}",
        "sent {records:,} records and {alerts:,} alerts to {where}",
    ),
    "run.spooled": (
        "KAFKA KHÔNG KẾT NỐI ĐƯỢC ({where}): {messages:,} thông điệp ({records:,} bản ghi và cảnh báo) chưa được gửi,"
        " đang nằm trong hàng đợi trên đĩa {spool} ({size:,} byte)",
        "KAFKA UNREACHABLE ({where}): {messages:,} messages ({records:,} records and alerts) were NOT delivered;"
        " they wait in the on-disk spool {spool} ({size:,} bytes)",
    ),
    "run.spool_drain": (
        "để gửi đi: khởi động lại Kafka rồi chạy `wardwatch run --drain --config {config}`"
        " (hoặc một lần `wardwatch run` bất kỳ với cấu hình này: hàng đợi được gửi trước)",
        "to send them: bring Kafka back, then run `wardwatch run --drain --config {config}`"
        " (or any `wardwatch run` with this config: the spool is sent first)",
    ),
    "run.spool_dropped": (
        "hàng đợi đầy: {records:,} bản ghi đã bị bỏ",
        "the spool was full: {records:,} records were dropped",
    ),
    "run.drained": (
        "hàng đợi Kafka {spool} đã được gửi hết tới {where}",
        "the Kafka spool {spool} was fully delivered to {where}",
    ),
    "run.nothing_to_drain": (
        "hàng đợi Kafka {spool} trống: không có gì để gửi",
        "the Kafka spool {spool} is empty: nothing to send",
    ),
    "run.drain_needs_kafka": (
        "--drain chỉ dùng khi cấu hình có mục kafka:",
        "--drain needs a config with a kafka: section",
    ),
    "run.no_pcap": (
        "cần --pcap (hoặc --drain để chỉ gửi hàng đợi Kafka)",
        "--pcap is required (or --drain to only send the Kafka spool)",
    ),
    "run.duplicates": (
        "{rows:,} dòng đã có sẵn trong kho và được bỏ qua (đã chạy bản ghi này trước đó?)",
        "{rows:,} rows were already stored and were skipped (same capture run before?)",
    ),
    "synth.done": (
        "{frames:,} gói tin, {attacks} cuộc tấn công được chèn → {files}",
        "{frames:,} packets, {attacks} injected attacks → {files}",
    ),
    "output.cannot": (
        "không ghi được {option} {path}: {reason}",
        "cannot write {option} {path}: {reason}",
    ),
    "output.is_input": (
        "{option} {path} là tệp đầu vào {input}; ghi vào đó sẽ xoá dữ liệu gốc (chọn một tệp khác)",
        "{option} {path} is the input {input}; writing it would destroy the original (choose another file)",
    ),
    "rules.rejected": (
        "luật Sigma {path} không được nạp: {reason}",
        "Sigma rule {path} was not loaded: {reason}",
    ),
}

# Why a file could not be written or read, by errno name (the operating system's own text otherwise).
OS_ERRORS: Mapping[str, Pair] = {
    "ENOENT": ("thư mục chứa nó không tồn tại", "its folder does not exist"),
    "ENOTDIR": ("một phần của đường dẫn không phải thư mục", "part of the path is not a folder"),
    "EISDIR": ("đó là một thư mục, cần một tệp", "it is a folder, not a file"),
    "EEXIST": ("đó là một tệp, cần một thư mục", "it is a file, not a folder"),
    "EACCES": ("không có quyền ghi", "permission denied"),
    "EPERM": ("không có quyền ghi", "permission denied"),
    "EROFS": ("hệ thống tệp chỉ đọc", "read-only file system"),
    "ENOSPC": ("hết chỗ trên đĩa", "no space left on the device"),
}

# The column words of the per-segment table (one per language).
WORDS: Mapping[str, Pair] = {
    "segment": ("phân vùng", "segment"),
    "records": ("bản ghi", "records"),
    "alerts": ("cảnh báo", "alerts"),
    "hosts": ("máy", "hosts"),
    "per_log": ("theo loại bản ghi; phân vùng quan trọng nhất trước", "per log; most critical segment first"),
}


def _pair(table: Mapping[str, Pair], key: str, kind: str) -> Pair:
    try:
        return table[key]
    except KeyError:
        raise KeyError(f"no {kind} {key!r} in wardwatch.i18n") from None


def category(name: str) -> Pair:
    """The readable (vi, en) name of an alert category; unknown names come back as they are."""
    return CATEGORIES.get(name, (name, name))


def severity(name: str) -> Pair:
    return SEVERITIES.get(name, (name, name))


def word(name: str) -> Pair:
    return _pair(WORDS, name, "word")


def os_error(e: OSError) -> Pair:
    """Why an operation on a file failed, as (vi, en)."""
    import errno

    name = errno.errorcode.get(e.errno or 0, "")
    fallback = e.strerror or str(e)
    return OS_ERRORS.get(name, (fallback, fallback))


def text(key: str, **values: object) -> Pair:
    """The message ``key`` with ``values`` filled in, as (vi, en). A value that is itself a (vi, en)
    pair (a reason, a category name) fills each language with its own side."""
    vi, en = _pair(MESSAGES, key, "message")

    def side(i: int) -> dict[str, object]:
        return {k: v[i] if _is_pair(v) else v for k, v in values.items()}  # type: ignore[index]

    return vi.format(**side(0)), en.format(**side(1))


def _is_pair(v: object) -> bool:
    return isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, str) for x in v)


def say(key: str, prefix: str = "", **values: object) -> str:
    """The message ``key`` as two lines (Vietnamese, then English), each after ``prefix``."""
    vi, en = text(key, **values)
    return f"{prefix}{vi}\n{prefix}{en}\n"


def lines(pair: Pair, prefix: str = "") -> str:
    """Any (vi, en) pair as two lines."""
    return f"{prefix}{pair[0]}\n{prefix}{pair[1]}\n"
