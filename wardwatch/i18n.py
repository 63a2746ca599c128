"""The one catalogue of user-facing text: (Vietnamese, English) pairs.

Every command, notifier, report and console reads its words from here, so that one concept has one
term everywhere (the terms follow the Ministry of Health's orders; see the project's Vietnamese
glossary). Vietnamese comes first: the operators read it first.

    vi, en = category("policy_airgap")
    sys.stderr.write(say("run.stored", records=12, alerts=3, where="var/store"))  # two lines, vi then en
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from wardwatch import catalogue

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
    "external_ids": ("Cảnh báo từ hệ thống IDS khác (Suricata)", "Alert from another IDS (Suricata)"),
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

# CLI messages: str.format templates, the same placeholders on both sides. The people's rooms
# (notify, report, console, dashboards) keep their words in ``wardwatch/catalogue/<room>.py``;
# ``MESSAGES`` below is the one merged catalogue, and a key defined twice is an error at import.
_CORE: Mapping[str, Pair] = {
    # live capture (ingest/live)
    "live.no_pcapy": (
        "thiếu thư viện bắt gói pcapy-ng ({error}): cài lại wardwatch",
        "the capture library pcapy-ng is missing ({error}): reinstall wardwatch",
    ),
    "live.open_failed": (
        "không mở được giao diện {name} để bắt gói: {error}",
        "cannot open interface {name} for capture: {error}",
    ),
    "live.bad_bpf": ("bộ lọc BPF không hợp lệ (sensor.bpf) {bpf!r}: {error}", "invalid BPF filter (sensor.bpf) {bpf!r}: {error}"),
    "live.fanout_failed": (
        "không chia được lưu lượng của {name} cho các tiến trình (PACKET_FANOUT): {error}",
        "cannot split the traffic of {name} across workers (PACKET_FANOUT): {error}",
    ),
    "live.no_user": (
        "không có người dùng {user} (sensor.user) trên máy này",
        "there is no user {user} (sensor.user) on this machine",
    ),
    "live.setuid_failed": (
        "không chuyển được sang người dùng {user}: {error}",
        "cannot switch to user {user}: {error}",
    ),
    "live.no_interfaces": (
        "chưa chỉ định giao diện bắt gói (--interface hoặc sensor.interfaces)",
        "no capture interface given (--interface or sensor.interfaces)",
    ),
    "live.listening": (
        "đang bắt gói trên {names} ({workers} tiến trình, chạy với quyền {user})",
        "capturing on {names} ({workers} workers, running as {user})",
    ),
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
    "serve.listening": (
        "dịch vụ wardwatch đang chạy (PID {pid}); API cục bộ tại {address}",
        "wardwatch service running (PID {pid}); local API at {address}",
    ),
    "serve.stopping": (
        "nhận {signal}: dừng thu, ghi mọi bản ghi và cảnh báo vào kho",
        "{signal} received: stopping capture, storing every record and alert",
    ),
    "serve.stopped": (
        "đã dừng; {records:,} bản ghi, {alerts:,} cảnh báo trong lần chạy này",
        "stopped; {records:,} records, {alerts:,} alerts in this run",
    ),
    "serve.reloaded": (
        "đã nạp lại cấu hình (nguồn tin, luật, danh sách cho phép, phân vùng); áp dụng khi khởi động lại: {later}",
        "config reloaded (feeds, rules, allow-list, segments); changes that wait for a restart: {later}",
    ),
    "serve.reload_refused": (
        "không nạp lại cấu hình, vẫn dùng cấu hình cũ: {reason}",
        "config reload refused, the previous config stays: {reason}",
    ),
    "serve.feeds_updated": (
        "nguồn tin mối đe dọa đã cập nhật; bộ phát hiện dùng bản mới",
        "threat feeds updated; the detectors use the new copy",
    ),
    "serve.nothing": (
        "không có gì để thu: khai báo sensor.interfaces trong {config} hoặc dùng --pcap",
        "nothing to capture: set sensor.interfaces in {config}, or give --pcap",
    ),
    "serve.no_live": (
        "bản wardwatch này chưa có chức năng thu trực tiếp (wardwatch.ingest.sensor.sense_live); dùng --pcap",
        "this wardwatch build has no live capture (wardwatch.ingest.sensor.sense_live); use --pcap",
    ),
    "serve.once_needs_pcap": (
        "--once cần --pcap",
        "--once needs --pcap",
    ),
    "rules.rejected": (
        "luật Sigma {path} không được nạp: {reason}",
        "Sigma rule {path} was not loaded: {reason}",
    ),
    # `wardwatch doctor`: what each check found, then what to do about it
    "doctor.fix": ("cách khắc phục: {fix}", "to fix: {fix}"),
    "doctor.skipped": ("bỏ qua theo yêu cầu (--skip {name})", "skipped as asked (--skip {name})"),
    "doctor.summary.ok": ("đạt cả {count} mục kiểm tra", "all {count} checks passed"),
    "doctor.summary.bad": (
        "{failed} trong {count} mục kiểm tra không đạt",
        "{failed} of {count} checks failed",
    ),
    "doctor.config.ok": ("cấu hình {path} hợp lệ", "the config {path} is valid"),
    "doctor.config.notes": (
        "cấu hình {path} hợp lệ, có {count} lưu ý:",
        "the config {path} is valid, with {count} notes:",
    ),
    "doctor.config.bad": ("cấu hình không hợp lệ: {error}", "the config is not valid: {error}"),
    "doctor.config.fix": (
        "sửa khóa ở dòng được nêu trong tệp cấu hình, rồi chạy lại `wardwatch doctor --config {path}`",
        "correct the key on the line named in the config file, then run `wardwatch doctor --config {path}` again",
    ),
    "doctor.store.none": (
        "chưa có kho dữ liệu tại {path}: lần chạy đầu tiên của `wardwatch serve` (hoặc `run`) sẽ tạo",
        "no store at {path} yet: the first `wardwatch serve` (or `run`) creates it",
    ),
    "doctor.store.ok": ("kho dữ liệu {path} mở được ({tables} bảng)", "the store at {path} opens ({tables} tables)"),
    "doctor.store.held": (
        "kho dữ liệu {path} đang được {holder} giữ: dịch vụ đang chạy, các lệnh khác đi qua dịch vụ",
        "the store at {path} is held by {holder}: the service is running; other commands go through it",
    ),
    "doctor.store.bad": ("không mở được kho dữ liệu {path}: {error}", "cannot open the store at {path}: {error}"),
    "doctor.store.fix": (
        "đọc lỗi ở trên; thư mục data_dir phải thuộc người dùng chạy dịch vụ (wardwatch, quyền 0700) và còn chỗ trống",
        "read the error above; data_dir must belong to the user the service runs as (wardwatch, mode 0700)"
        " and have free space",
    ),
    "doctor.broker.none": (
        "không dùng Kafka (cấu hình không có mục kafka:, kho nhúng)",
        "Kafka is not used (no kafka: section; the embedded store)",
    ),
    "doctor.broker.ok": ("Kafka {where} nhận kết nối", "Kafka at {where} accepts connections"),
    "doctor.broker.bad": (
        "Kafka {where} không nhận kết nối trong {seconds} giây",
        "Kafka at {where} did not accept a connection within {seconds}s",
    ),
    "doctor.broker.fix": (
        "khởi động broker Kafka hoặc sửa kafka.bootstrap; trong lúc chờ, bản ghi nằm trong hàng đợi trên đĩa",
        "start the Kafka broker or correct kafka.bootstrap; meanwhile records wait in the on-disk spool",
    ),
    "doctor.iface.none": (
        "chưa khai báo giao diện bắt gói (sensor.interfaces): chỉ đọc được tệp pcap",
        "no capture interfaces configured (sensor.interfaces): only capture files can be read",
    ),
    "doctor.iface.ok": ("giao diện bắt gói {names} có và đang bật", "capture interfaces {names} exist and are up"),
    "doctor.iface.missing": (
        "máy này không có giao diện mạng {names} (hiện có: {present})",
        "this machine has no network interface {names} (present: {present})",
    ),
    "doctor.iface.missing_fix": (
        "sửa sensor.interfaces theo tên trong `ip link`, hoặc lắp card mạng nối với cổng SPAN",
        "set sensor.interfaces to names shown by `ip link`, or fit the network card wired to the SPAN port",
    ),
    "doctor.iface.down": ("giao diện {names} đang tắt (down)", "interfaces {names} are down"),
    "doctor.iface.down_fix": (
        "bật giao diện (`ip link set {name} up`) và kiểm tra cáp tới cổng SPAN",
        "bring it up (`ip link set {name} up`) and check the cable to the SPAN port",
    ),
    "doctor.caps.none": (
        "không cần quyền bắt gói: chưa khai báo giao diện",
        "no capture privilege needed: no interfaces are configured",
    ),
    "doctor.caps.ok": ("tiến trình được phép bắt gói ({how})", "the process may capture packets ({how})"),
    "doctor.caps.bad": (
        "tiến trình (người dùng {user}) không được phép bắt gói: thiếu CAP_NET_RAW",
        "the process (user {user}) may not capture packets: it lacks CAP_NET_RAW",
    ),
    "doctor.caps.fix": (
        "chạy qua dịch vụ systemd deploy/wardwatch.service (cấp CAP_NET_RAW cho người dùng wardwatch) hoặc bằng root",
        "run it through the systemd unit deploy/wardwatch.service (which grants CAP_NET_RAW to the wardwatch user)"
        " or as root",
    ),
    "doctor.feeds.none": ("chưa khai báo nguồn tin mối đe dọa (feeds)", "no threat feeds are configured"),
    "doctor.feeds.ok": (
        "{count} nguồn tin còn mới (cũ nhất: {name}, cập nhật {age} trước)",
        "{count} feeds are fresh (oldest: {name}, updated {age} ago)",
    ),
    "doctor.feeds.local": (
        "{count} nguồn tin được đọc trực tiếp từ tệp (chưa có bản sao lưu: `wardwatch feeds update` sẽ tạo)",
        "{count} feeds are read in place from their files (no snapshot yet: `wardwatch feeds update` makes one)",
    ),
    "doctor.feeds.stale": (
        "nguồn tin {name} đã cũ: cập nhật lần cuối {age} trước, cần làm mới mỗi {refresh}{error}",
        "feed {name} is stale: last updated {age} ago, due every {refresh}{error}",
    ),
    "doctor.feeds.never": (
        "nguồn tin {name} chưa từng tải được{error}",
        "feed {name} was never fetched{error}",
    ),
    "doctor.feeds.missing": (
        "tệp của nguồn tin {name} không tồn tại: {path}",
        "the file of feed {name} does not exist: {path}",
    ),
    "doctor.feeds.fix": (
        "chạy `wardwatch feeds update --config {path}` (dịch vụ tự làm mới theo chu kỳ); xem lỗi bằng `wardwatch feeds list`",
        "run `wardwatch feeds update --config {path}` (the service refreshes on its own timer);"
        " see errors with `wardwatch feeds list`",
    ),
    "doctor.disk.ok": ("còn trống {free} ({share}) trên đĩa chứa {path}", "{free} ({share}) free on the disk of {path}"),
    "doctor.disk.low": (
        "đĩa chứa {path} sắp đầy: còn {free} ({share})",
        "the disk of {path} is filling up: {free} ({share}) free",
    ),
    "doctor.disk.full": (
        "đĩa chứa {path} gần hết chỗ: còn {free} ({share}); dữ liệu mới sẽ không ghi được",
        "the disk of {path} is almost full: {free} ({share}) free; new data will fail to be written",
    ),
    "doctor.disk.fix": (
        "giải phóng chỗ trống, rút ngắn thời gian lưu (store.retention) hoặc mở rộng đĩa",
        "free space, shorten the retention (store.retention) or grow the disk",
    ),
    "doctor.clock.ok": ("đồng hồ hệ thống đã đồng bộ ({how})", "the system clock is synchronised ({how})"),
    "doctor.clock.bad": ("đồng hồ hệ thống chưa đồng bộ ({how})", "the system clock is not synchronised ({how})"),
    "doctor.clock.unknown": (
        "không kiểm tra được đồng hồ có đồng bộ không: {reason}",
        "could not check whether the clock is synchronised: {reason}",
    ),
    "doctor.clock.fix": (
        "bật đồng bộ thời gian (`timedatectl set-ntp true`, hoặc cài chrony): thời điểm của cảnh báo và báo cáo dựa vào đồng hồ này",
        "turn time synchronisation on (`timedatectl set-ntp true`, or install chrony): alert and report times"
        " depend on this clock",
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


def _merge(*parts: Mapping[str, Pair]) -> dict[str, Pair]:
    merged: dict[str, Pair] = {}
    for part in parts:
        for key, pair in part.items():
            if key in merged:
                raise RuntimeError(f"wardwatch.i18n: message {key!r} is defined twice")
            merged[key] = pair
    return merged


MESSAGES: Mapping[str, Pair] = _merge(_CORE, *catalogue.PARTS)


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


def say_log(logger: logging.Logger, key: str, level: int = logging.INFO, **values: object) -> None:
    """The message ``key`` as one log line, Vietnamese · English (the journal keeps one line each)."""
    vi, en = text(key, **values)
    logger.log(level, "%s · %s", vi, en)
