"""The words of ``dashboards/``: key → (Vietnamese, English), str.format templates with the same
placeholders on both sides (see ``wardwatch.i18n``).

Boards: ``dashboards.<board>`` (title) and ``….help``; panels: ``dashboards.<board>.<panel>`` and
``….help``; variables ``dashboards.var.<name>``; links ``dashboards.link.<board>``; column headings
``dashboards.col.<column>``; the command's messages ``dashboards.cli.…``."""

from __future__ import annotations

from collections.abc import Mapping

_BOARDS: dict[str, tuple[str, str]] = {
    # SOC overview
    "dashboards.soc": ("wardwatch · Tổng quan giám sát an toàn thông tin (SOC)", "wardwatch · SOC overview"),
    "dashboards.soc.help": (
        "Cảnh báo đang mở theo mức độ và phân vùng mạng, diễn biến theo thời gian, cảnh báo nghiêm trọng mới nhất, máy phát sinh nhiều cảnh báo nhất, tình trạng cảm biến và nguồn cảnh báo.",
        "Open alerts by severity and segment, alerts over time, the newest critical alerts, the hosts that raise most, and sensor and feed health at a glance.",
    ),
    "dashboards.soc.open_by_severity": ("Cảnh báo đang mở theo mức độ", "Open alerts by severity"),
    "dashboards.soc.open_by_severity.help": (
        "Cảnh báo trong khoảng thời gian đã chọn chưa được xử lý, chưa bị đánh dấu cảnh báo nhầm hoặc tạm ẩn.",
        "Alerts in the chosen range not yet resolved, marked false positive or silenced.",
    ),
    "dashboards.soc.health_glance": ("Cảm biến và nguồn cảnh báo", "Sensors and feeds at a glance"),
    "dashboards.soc.health_glance.help": (
        "Số phút kể từ bản ghi kết nối và DNS mới nhất (lớn: cảm biến có thể đã ngừng), số cảnh báo về cảm biến và số lần khớp nguồn tin tình báo mối đe dọa.",
        "Minutes since the newest connection and DNS record (large: a sensor may have stopped), sensor alerts, and threat-feed hits.",
    ),
    "dashboards.soc.open_by_segment": ("Cảnh báo đang mở theo phân vùng mạng", "Open alerts by segment"),
    "dashboards.soc.open_by_segment.help": (
        "Mỗi phân vùng mạng, xếp theo số cảnh báo nghiêm trọng rồi mức cao.",
        "Each segment, ordered by critical then high alerts.",
    ),
    "dashboards.soc.alerts_over_time": ("Cảnh báo theo thời gian", "Alerts over time"),
    "dashboards.soc.alerts_over_time.help": (
        "Số cảnh báo mỗi khoảng, theo mức độ (bảng tổng hợp theo phút).",
        "Alerts per interval by severity (from the per-minute rollup).",
    ),
    "dashboards.soc.newest_critical": ("Cảnh báo nghiêm trọng mới nhất", "Newest critical alerts"),
    "dashboards.soc.newest_critical.help": (
        "Cảnh báo mức nghiêm trọng đang mở, mới nhất trước; bấm mã cảnh báo để xem bản ghi liên quan.",
        "Open critical alerts, newest first; click an alert's uid for the records behind it.",
    ),
    "dashboards.soc.top_hosts": ("Máy phát sinh nhiều cảnh báo nhất", "Top offending hosts"),
    "dashboards.soc.top_hosts.help": (
        "Máy nguồn theo mức độ nặng nhất rồi số cảnh báo; bấm địa chỉ để xem kết nối của máy.",
        "Source hosts by worst severity then number of alerts; click an address for its connections.",
    ),
    # segment
    "dashboards.segment": ("wardwatch · Phân vùng mạng", "wardwatch · Segment"),
    "dashboards.segment.help": (
        "Một phân vùng mạng (HIS, EMR, PACS, LIS trước): ai kết nối vào từ đâu, vi phạm chính sách, DNS tới tên miền độc hại, đăng nhập không mã hóa, lưu lượng so với mức thường.",
        "One segment (HIS, EMR, PACS, LIS first): who talks to it from where, policy violations, DNS to malicious domains, cleartext logins, traffic against its baseline.",
    ),
    "dashboards.segment.inbound": (
        "Ai kết nối vào phân vùng này, từ đâu",
        "Who talks to this segment, from where",
    ),
    "dashboards.segment.inbound.help": (
        "Kết nối từ phân vùng khác vào phân vùng đã chọn; vùng khách (Wi-Fi), Internet và mạng chứa thông tin bí mật nhà nước xếp trước. Cần xuất bảng điều khiển với --config để biết dải địa chỉ của từng phân vùng.",
        "Connections from other segments into the chosen one; guest Wi-Fi, the internet and the air-gapped network first. Needs the boards exported with --config (the segments' address ranges).",
    ),
    "dashboards.segment.violations": ("Vi phạm chính sách", "Policy violations"),
    "dashboards.segment.violations.help": (
        "Cảnh báo chính sách từ hoặc tới phân vùng này.",
        "Policy alerts from or into this segment.",
    ),
    "dashboards.segment.malicious_dns": ("DNS tới tên miền độc hại", "DNS to malicious domains"),
    "dashboards.segment.malicious_dns.help": (
        "Tên miền độc hại (nguồn tin tình báo), tên miền sinh tự động, đường hầm DNS, hàng loạt NXDOMAIN từ phân vùng này.",
        "Malicious domains (threat feeds), DGA names, DNS tunnels and NXDOMAIN bursts from this segment.",
    ),
    "dashboards.segment.cleartext_logins": ("Đăng nhập không mã hóa", "Cleartext logins"),
    "dashboards.segment.cleartext_logins.help": (
        "Đăng nhập lộ tài khoản trên đường truyền, từ hoặc tới phân vùng này.",
        "Logins that show the account on the wire, from or into this segment.",
    ),
    "dashboards.segment.volume_baseline": ("Lưu lượng so với mức thường", "Traffic against its baseline"),
    "dashboards.segment.volume_baseline.help": (
        "Số byte mỗi khoảng, so với trung bình cùng giờ của 7 ngày trước.",
        "Bytes per interval against the average of the same minutes over the previous 7 days.",
    ),
    "dashboards.segment.alerts_over_time": (
        "Cảnh báo của phân vùng theo thời gian",
        "Segment alerts over time",
    ),
    "dashboards.segment.alerts_over_time.help": (
        "Cảnh báo của phân vùng theo loại.",
        "The segment's alerts by category.",
    ),
    # DNS
    "dashboards.dns": ("wardwatch · Mối đe dọa qua DNS", "wardwatch · DNS threats"),
    "dashboards.dns.help": (
        "Khớp nguồn tin tình báo (nguồn nào, thấy ở đâu), DGA, đường hầm DNS, NXDOMAIN, DoH và phân giải vượt máy chủ DNS, tên miền mới, tra cứu DNS thụ động.",
        "Feed hits (which feed, seen where), DGA, tunnels, NXDOMAIN bursts, DoH and resolver bypass, new domains, passive-DNS search.",
    ),
    "dashboards.dns.feed_hits": ("Khớp nguồn tin tình báo mối đe dọa", "Threat-feed hits"),
    "dashboards.dns.feed_hits.help": (
        "Tên miền hoặc địa chỉ độc hại: giá trị quan sát, nguồn cảnh báo, và nơi thấy (truy vấn, CNAME, trả lời DNS, TLS SNI, HTTP host, kết nối).",
        "Malicious names or addresses: what was observed, which feed lists it, and where it was seen (query, CNAME, answer, TLS SNI, HTTP host, connection).",
    ),
    "dashboards.dns.dga": ("Tên miền sinh tự động (DGA)", "Algorithmically generated domains (DGA)"),
    "dashboards.dns.dga.help": (
        "Tên miền không tồn tại có dạng sinh tự động, với điểm của mô hình.",
        "Nonexistent DGA-like names, with the model's score.",
    ),
    "dashboards.dns.tunnels": ("Đường hầm DNS", "DNS tunnels"),
    "dashboards.dns.tunnels.help": (
        "Máy mang dữ liệu trong tên miền con.",
        "Hosts carrying data in subdomain names.",
    ),
    "dashboards.dns.nxdomain_rate": ("Trả lời NXDOMAIN theo phân vùng", "NXDOMAIN answers by segment"),
    "dashboards.dns.nxdomain_rate.help": (
        "Số trả lời NXDOMAIN mỗi khoảng (bảng tổng hợp DNS theo phút).",
        "NXDOMAIN answers per interval (from the per-minute DNS rollup).",
    ),
    "dashboards.dns.nxdomain_bursts": ("Hàng loạt NXDOMAIN", "NXDOMAIN bursts"),
    "dashboards.dns.nxdomain_bursts.help": (
        "Máy nhận nhiều trả lời NXDOMAIN trong thời gian ngắn.",
        "Hosts that got many NXDOMAIN answers in a short time.",
    ),
    "dashboards.dns.bypass": ("DoH, DoT và DNS vượt máy chủ DNS bệnh viện", "DoH, DoT and resolver bypass"),
    "dashboards.dns.bypass.help": (
        "Máy phân giải tên miền không qua máy chủ DNS của bệnh viện.",
        "Hosts resolving names without the hospital resolver.",
    ),
    "dashboards.dns.new_domains": ("Tên miền mới xuất hiện", "Newly seen domains"),
    "dashboards.dns.new_domains.help": (
        "Tên miền được phân giải lần đầu trong khoảng thời gian đã chọn (DNS thụ động).",
        "Names first resolved within the chosen range (passive DNS).",
    ),
    "dashboards.dns.pdns_search": ("Tra cứu DNS thụ động", "Passive-DNS search"),
    "dashboards.dns.pdns_search.help": (
        "Nhập tên miền (gồm cả tên miền con) hoặc địa chỉ IP vào ô «Tìm»: máy nào đã phân giải, ra địa chỉ nào, lần đầu và lần cuối.",
        "Type a domain (its subdomains included) or an IP address in 'Search': which hosts resolved it, to what, first and last seen.",
    ),
    # connections
    "dashboards.conn": ("wardwatch · Kết nối", "wardwatch · Connections"),
    "dashboards.conn.help": (
        "Kết nối định kỳ tới máy chủ điều khiển, dò quét cổng, rò rỉ dữ liệu, phần mềm truy cập từ xa và ứng dụng OTT, máy trao đổi nhiều nhất, đích trên Internet.",
        "Beacons, scans, exfiltration, remote-access tools and OTT apps, top talkers, internet destinations.",
    ),
    "dashboards.conn.beacons": ("Kết nối định kỳ tới máy chủ điều khiển (C2)", "Beaconing (C2)"),
    "dashboards.conn.beacons.help": (
        "Máy kết nối đều đặn tới một đích, với chu kỳ và điểm.",
        "Hosts connecting to one destination at regular intervals, with period and score.",
    ),
    "dashboards.conn.scans": ("Dò quét cổng", "Port scans"),
    "dashboards.conn.scans.help": (
        "Quét dọc (nhiều cổng một máy) và quét ngang (một cổng nhiều máy).",
        "Vertical (many ports, one host) and horizontal (one port, many hosts) scans.",
    ),
    "dashboards.conn.exfiltration": ("Rò rỉ / đánh cắp dữ liệu", "Data exfiltration"),
    "dashboards.conn.exfiltration.help": (
        "Máy gửi ra Internet nhiều hơn hẳn mức thường.",
        "Hosts sending far more than usual to the internet.",
    ),
    "dashboards.conn.apps_by_segment": (
        "Truy cập từ xa và OTT theo phân vùng",
        "Remote access and OTT by segment",
    ),
    "dashboards.conn.apps_by_segment.help": (
        "Số cảnh báo phần mềm truy cập từ xa và ứng dụng nhắn tin OTT mỗi phân vùng.",
        "Remote-access and OTT messaging alerts per segment.",
    ),
    "dashboards.conn.apps": ("Ứng dụng truy cập từ xa và OTT", "Remote-access and OTT apps"),
    "dashboards.conn.apps.help": (
        "Ứng dụng nào, máy nào, phân vùng nào.",
        "Which app, which host, which segment.",
    ),
    "dashboards.conn.top_talkers": ("Máy trao đổi nhiều dữ liệu nhất", "Top talkers"),
    "dashboards.conn.top_talkers.help": (
        "Theo byte gửi và nhận (bảng tổng hợp theo phút).",
        "By bytes sent and received (from the per-minute rollup).",
    ),
    "dashboards.conn.internet_destinations": ("Đích trên Internet", "Internet destinations"),
    "dashboards.conn.internet_destinations.help": (
        "Địa chỉ ngoài mạng nội bộ nhận nhiều dữ liệu nhất (bản ghi chưa có quốc gia hay ASN).",
        "Addresses outside the internal network that receive most (the records carry no country or ASN yet).",
    ),
    # health
    "dashboards.health": (
        "wardwatch · Tình trạng cảm biến và độ phủ giám sát",
        "wardwatch · Sensor health and coverage",
    ),
    "dashboards.health.help": (
        "Bản ghi mỗi loại nhật ký, độ mới, độ trễ tới kho dữ liệu, phân vùng im lặng, cảnh báo về cảm biến (mất gói, quá tải, im lặng). Bộ đếm gói tin nằm ở /metrics (Prometheus).",
        "Records per log, freshness, delay into the store, silent segments, sensor alerts (drops, overload, silence). Packet counters are in /metrics (Prometheus).",
    ),
    "dashboards.health.records_per_log": ("Bản ghi theo loại nhật ký", "Records per log"),
    "dashboards.health.records_per_log.help": (
        "Số bản ghi mỗi khoảng: dns, conn, tls, http, login.",
        "Records per interval: dns, conn, tls, http, login.",
    ),
    "dashboards.health.freshness": ("Độ mới của dữ liệu", "Data freshness"),
    "dashboards.health.freshness.help": (
        "Bản ghi và lần ghi mới nhất của mỗi loại nhật ký.",
        "The newest record and insert of each log.",
    ),
    "dashboards.health.store_lag": ("Độ trễ vào kho dữ liệu", "Delay into the store"),
    "dashboards.health.store_lag.help": (
        "Thời gian từ lúc bắt gói tới lúc ghi vào kho (qua bộ phát hiện, hàng đợi và lệnh ghi), trung vị và phân vị 95; thời gian mỗi lệnh ghi nằm ở /metrics.",
        "Time from capture to the store (detectors, bus and insert), median and 95th percentile; each insert's own time is in /metrics.",
    ),
    "dashboards.health.silent_segments": ("Phân vùng im lặng", "Silent segments"),
    "dashboards.health.silent_segments.help": (
        "Phân vùng theo số phút kể từ kết nối cuối cùng (lớn nhất trước).",
        "Segments by minutes since their last connection (longest first).",
    ),
    "dashboards.health.sensor_alerts": ("Cảnh báo về cảm biến", "Sensor alerts"),
    "dashboards.health.sensor_alerts.help": (
        "Mất gói trong nhân, quá tải, cảm biến hoặc phân vùng im lặng.",
        "Kernel drops, overload, silent sensors or segments.",
    ),
    "dashboards.health.kernel_drops": ("Gói tin bị mất trong nhân", "Kernel packet drops"),
    "dashboards.health.kernel_drops.help": (
        "Số gói bị mất theo các cảnh báo mất gói của từng cảm biến.",
        "Packets dropped, as reported by each sensor's drop alerts.",
    ),
    # triage
    "dashboards.triage": ("wardwatch · Xử lý cảnh báo", "wardwatch · Alert triage"),
    "dashboards.triage.help": (
        "Bảng cảnh báo với trạng thái; bấm mã cảnh báo hoặc mã bản ghi để xem bản ghi liên quan và lịch sử xử lý.",
        "The alerts with their state; click an alert or record uid for the records behind it and its history.",
    ),
    "dashboards.triage.alerts": ("Cảnh báo", "Alerts"),
    "dashboards.triage.alerts.help": ("Nặng nhất và mới nhất trước.", "Most severe and newest first."),
    "dashboards.triage.records": ("Bản ghi liên quan tới cảnh báo", "Records behind the alert"),
    "dashboards.triage.records.help": (
        "Mọi bản ghi (dns, conn, tls, http, login) có mã đã chọn.",
        "Every record (dns, conn, tls, http, login) with the chosen uid.",
    ),
    "dashboards.triage.history": ("Lịch sử xử lý", "Handling history"),
    "dashboards.triage.history.help": (
        "Xác nhận, đã xử lý, cảnh báo nhầm, tạm ẩn: ai, khi nào, ghi chú.",
        "Acknowledged, resolved, false positive, silenced: who, when, note.",
    ),
}

_VARIABLES: dict[str, tuple[str, str]] = {
    "dashboards.var.ds": ("Nguồn dữ liệu", "Data source"),
    "dashboards.var.segments": ("Phân vùng mạng", "Segments"),
    "dashboards.var.segment": ("Phân vùng", "Segment"),
    "dashboards.var.search": ("Tìm (tên miền hoặc IP)", "Search (domain or IP)"),
    "dashboards.var.host": ("Máy (IP)", "Host (IP)"),
    "dashboards.var.severity": ("Mức độ", "Severity"),
    "dashboards.var.alert": ("Mã cảnh báo", "Alert uid"),
    "dashboards.var.record": ("Mã bản ghi", "Record uid"),
    "dashboards.link.triage": ("Xem bản ghi và lịch sử xử lý", "Records and history"),
    "dashboards.link.conn": ("Xem kết nối của máy", "Connections of this host"),
    "dashboards.link.segment": ("Xem phân vùng", "Segment board"),
}

_COLUMNS: dict[str, tuple[str, str]] = {
    f"dashboards.col.{k}": v
    for k, v in {
        "alerts": ("Số cảnh báo", "Alerts"),
        "answer_ip": ("Địa chỉ trả về", "Answer"),
        "app": ("Ứng dụng", "App"),
        "bytes": ("Số byte", "Bytes"),
        "bytes_in": ("Byte nhận", "Bytes in"),
        "bytes_out": ("Byte gửi", "Bytes out"),
        "categories": ("Loại cảnh báo", "Categories"),
        "client_ip": ("Máy hỏi", "Client"),
        "clients": ("Số máy hỏi", "Clients"),
        "conns": ("Số kết nối", "Connections"),
        "critical": ("nghiêm trọng", "critical"),
        "high": ("cao", "high"),
        "medium": ("trung bình", "medium"),
        "low": ("thấp", "low"),
        "detail": ("Chi tiết", "Detail"),
        "drops": ("Gói bị mất", "Dropped"),
        "dst": ("Đích", "Destination"),
        "dst_port": ("Cổng đích", "Dest. port"),
        "feed_hits": ("Khớp nguồn tin", "Feed hits"),
        "feeds": ("Nguồn cảnh báo", "Feeds"),
        "first_seen": ("Lần đầu", "First seen"),
        "from_segment": ("Từ phân vùng", "From segment"),
        "from_zone": ("Từ vùng", "From zone"),
        "hosts": ("Số máy", "Hosts"),
        "indicator": ("Dấu hiệu", "Indicator"),
        "interval_s": ("Chu kỳ (giây)", "Period (s)"),
        "kind": ("Loại cảnh báo", "Category"),
        "lag_p50_s": ("Độ trễ trung vị (giây)", "Median delay (s)"),
        "lag_p95_s": ("Độ trễ p95 (giây)", "p95 delay (s)"),
        "last_record": ("Bản ghi cuối", "Last record"),
        "last_seen": ("Lần cuối", "Last seen"),
        "level": ("Mức độ", "Severity"),
        "log": ("Nhật ký", "Log"),
        "lookups": ("Số lần hỏi", "Lookups"),
        "method": ("Cách thức", "Method"),
        "minutes_since_conn": ("Phút từ kết nối cuối", "Min. since last conn"),
        "minutes_since_dns": ("Phút từ DNS cuối", "Min. since last DNS"),
        "names": ("Số tên", "Names"),
        "newest_insert": ("Lần ghi mới nhất", "Newest insert"),
        "newest_record": ("Bản ghi mới nhất", "Newest record"),
        "note": ("Ghi chú", "Note"),
        "observed": ("Giá trị quan sát", "Observed"),
        "ott": ("Ứng dụng OTT", "OTT apps"),
        "port": ("Cổng", "Port"),
        "queries": ("Số truy vấn", "Queries"),
        "query": ("Tên miền", "Domain"),
        "record": ("Mã bản ghi", "Record uid"),
        "records": ("Số bản ghi", "Records"),
        "remote_access": ("Truy cập từ xa", "Remote access"),
        "rule": ("Luật", "Rule"),
        "score": ("Điểm", "Score"),
        "seconds_since_insert": ("Giây từ lần ghi cuối", "Seconds since insert"),
        "seen_in": ("Thấy trong", "Seen in"),
        "segment": ("Phân vùng mạng", "Segment"),
        "segments": ("Các phân vùng", "Segments"),
        "sensor": ("Cảm biến", "Sensor"),
        "sensor_alerts": ("Cảnh báo cảm biến", "Sensor alerts"),
        "service": ("Dịch vụ", "Service"),
        "shed": ("Bản ghi bị bỏ", "Shed"),
        "silent_min": ("Số phút im lặng", "Silent (min)"),
        "silent_s": ("Im lặng (giây)", "Silent (s)"),
        "src": ("Nguồn", "Source"),
        "src_port": ("Cổng nguồn", "Source port"),
        "state": ("Trạng thái", "State"),
        "success": ("Thành công", "Succeeded"),
        "summary": ("Mô tả", "Summary"),
        "targets": ("Số mục tiêu", "Targets"),
        "to_segment": ("Tới phân vùng", "To segment"),
        "ts": ("Thời điểm", "Time"),
        "uid": ("Mã cảnh báo", "Alert uid"),
        "user": ("Tài khoản", "Account"),
        "weak_password": ("Mật khẩu yếu", "Weak password"),
        "who": ("Người xử lý", "Who"),
        "window_s": ("Cửa sổ (giây)", "Window (s)"),
        "worst": ("Mức nặng nhất", "Worst"),
    }.items()
}

_CLI: dict[str, tuple[str, str]] = {
    "dashboards.endpoint_listening": (
        "cổng tương thích ClickHouse cho Grafana (chỉ đọc) tại {address}, người dùng {user}",
        "ClickHouse-compatible endpoint for Grafana (read-only) at {address}, user {user}",
    ),
    "dashboards.cli.exported": (
        "đã ghi {boards} bảng điều khiển ({langs}) và tệp cấu hình Grafana vào {out}",
        "wrote {boards} dashboards ({langs}) and the Grafana provisioning files to {out}",
    ),
    "dashboards.cli.no_segments": (
        "chưa có --config: bảng «Ai kết nối vào phân vùng» sẽ không biết dải địa chỉ của các phân vùng",
        "no --config: the 'who talks to this segment' panel will not know the segments' address ranges",
    ),
    "dashboards.cli.out_not_dir": ("{out} không phải là thư mục", "{out} is not a folder"),
    "dashboards.cli.cannot_write": ("không ghi được vào {out}: {reason}", "cannot write to {out}: {reason}"),
    "dashboards.cli.no_token": (
        "thiếu mã truy cập Grafana: đặt biến môi trường {env} (tài khoản dịch vụ có quyền Editor); không truyền mã trên dòng lệnh",
        "no Grafana token: set the environment variable {env} (a service account with the Editor role); tokens never go on the command line",
    ),
    "dashboards.cli.bad_url": (
        "địa chỉ Grafana không hợp lệ: {url} (ví dụ http://127.0.0.1:3000)",
        "not a Grafana address: {url} (for example http://127.0.0.1:3000)",
    ),
    "dashboards.cli.pushed": (
        "đã đẩy {boards} bảng điều khiển vào thư mục «{folder}» của Grafana {url}",
        "pushed {boards} dashboards into folder '{folder}' of Grafana {url}",
    ),
    "dashboards.cli.push_failed": ("Grafana {url} từ chối: {reason}", "Grafana {url} refused: {reason}"),
    "dashboards.cli.unreachable": (
        "không kết nối được Grafana {url}: {reason}",
        "cannot reach Grafana {url}: {reason}",
    ),
    "dashboards.folder": ("wardwatch (Tiếng Việt)", "wardwatch (English)"),
}

MESSAGES: Mapping[str, tuple[str, str]] = {**_BOARDS, **_VARIABLES, **_COLUMNS, **_CLI}
