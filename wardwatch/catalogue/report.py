"""The words of ``report/``: key → (Vietnamese, English), str.format templates with the same
placeholders on both sides (see ``wardwatch.i18n``)."""

from __future__ import annotations

from collections.abc import Mapping

MESSAGES: Mapping[str, tuple[str, str]] = {
    # -- the page and its sections
    "report.title": ("Báo cáo tuần về an toàn thông tin mạng", "Weekly network security report"),
    "report.period": ("Kỳ báo cáo: {label} ({first} đến {last})", "Period: {label} ({first} to {last})"),
    "report.generated": ("Lập lúc {when} bởi wardwatch", "Generated {when} by wardwatch"),
    "report.org": ("Đơn vị: {organisation}", "Organisation: {organisation}"),
    "report.page": ("Trang", "Page"),
    "report.no_data": (
        "Tuần này kho dữ liệu không có bản ghi nào: cảm biến không hoạt động hoặc chưa được cấu hình. "
        "Báo cáo không thể khẳng định mạng an toàn.",
        "The store holds no records for this week: the sensor was down or not configured. "
        "This report cannot say the network was safe.",
    ),
    "report.s.summary": ("Tóm tắt cho lãnh đạo", "Summary for leadership"),
    "report.s.findings": ("Các phát hiện theo mức độ", "Findings by severity"),
    "report.s.compliance": ("Tuân thủ các văn bản chỉ đạo", "Compliance with the orders"),
    "report.s.incidents": (
        "Sự cố (theo mẫu báo cáo ban đầu, Thông tư 20/2017/TT-BTTTT)",
        "Incidents (initial report form, Circular 20/2017/TT-BTTTT)",
    ),
    "report.s.feeds": ("Trùng khớp nguồn tin mối đe dọa", "Threat-feed hits"),
    "report.s.behaviour": ("Phát hiện hành vi bất thường", "Behaviour findings"),
    "report.s.hosts": ("Máy đáng chú ý", "Top hosts"),
    "report.s.coverage": ("Phạm vi giám sát", "Coverage"),
    "report.s.handling": ("Xử lý cảnh báo", "Alert handling"),
    # -- summary
    "report.risk": ("Mức rủi ro tuần này", "Risk level this week"),
    "report.risk.critical": ("Rất cao", "Critical"),
    "report.risk.high": ("Cao", "High"),
    "report.risk.medium": ("Trung bình", "Medium"),
    "report.risk.low": ("Thấp", "Low"),
    "report.risk.unknown": ("Không xác định (không có dữ liệu)", "Unknown (no data)"),
    "report.risk.why": (
        "{critical} cảnh báo mức nghiêm trọng, {high} mức cao; {his_emr} liên quan HIS/EMR.",
        "{critical} critical and {high} high alerts; {his_emr} involve HIS/EMR.",
    ),
    "report.changes": ("So với tuần trước", "Compared with last week"),
    "report.c.metric": ("Chỉ số", "Measure"),
    "report.c.this": ("Tuần này", "This week"),
    "report.c.last": ("Tuần trước", "Last week"),
    "report.c.change": ("Thay đổi", "Change"),
    "report.m.records": ("Bản ghi giám sát", "Records watched"),
    "report.m.alerts": ("Cảnh báo", "Alerts"),
    "report.m.urgent": ("Cảnh báo mức nghiêm trọng và cao", "Critical and high alerts"),
    "report.m.hosts": ("Máy có cảnh báo", "Hosts with alerts"),
    "report.todo": ("Ba việc cần làm tuần này", "Three things to do this week"),
    "report.chart.alerts": ("Cảnh báo mỗi ngày theo mức độ", "Alerts per day by severity"),
    "report.chart.records": ("Truy vấn DNS và kết nối mỗi ngày", "DNS queries and connections per day"),
    # -- the three things to do, one per kind of finding
    "report.todo.finding": (
        "{what} tại máy {hosts} ({segments}). {action}",
        "{what} on {hosts} ({segments}). {action}",
    ),
    "report.todo.ack": (
        "Giao người xử lý {n} cảnh báo mức nghiêm trọng hoặc cao chưa ai nhận (wardwatch alerts list --state new).",
        "Assign the {n} critical or high alerts nobody has taken (wardwatch alerts list --state new).",
    ),
    "report.todo.coverage": (
        "Khắc phục cảm biến: {hours} giờ trong tuần không có dữ liệu giám sát.",
        "Fix the sensor: {hours} hours of the week were not watched.",
    ),
    "report.todo.feeds": (
        "Cập nhật nguồn tin mối đe dọa đã cũ: {feeds} (wardwatch feeds update).",
        "Update the stale threat feeds: {feeds} (wardwatch feeds update).",
    ),
    "report.todo.keep": (
        "Duy trì giám sát và rà soát lại danh sách máy trong các phân vùng HIS/EMR.",
        "Keep watching, and review the list of hosts in the HIS/EMR segments.",
    ),
    "report.todo.no_data": (
        "Kiểm tra ngay cảm biến và cấu hình (wardwatch doctor): tuần này không có dữ liệu.",
        "Check the sensor and the config now (wardwatch doctor): this week has no data.",
    ),
    # -- findings
    "report.f.none": ("Không có phát hiện nào trong kỳ.", "No findings in this period."),
    "report.f.alerts": ("{alerts} cảnh báo, {hosts} máy", "{alerts} alerts, {hosts} hosts"),
    "report.f.action": ("Việc cần làm", "Action"),
    "report.f.more": (
        "… và {n} cảnh báo khác cùng loại (xem wardwatch alerts list).",
        "… and {n} more of this kind (see wardwatch alerts list).",
    ),
    "report.col.time": ("Thời điểm", "Time"),
    "report.col.host": ("Máy", "Host"),
    "report.col.segment": ("Phân vùng", "Segment"),
    "report.col.indicator": ("Dấu hiệu", "Indicator"),
    "report.col.what": ("Mô tả", "Description"),
    "report.col.state": ("Trạng thái", "State"),
    "report.col.count": ("Số lần", "Count"),
    "report.col.feed": ("Nguồn tin", "Feed"),
    "report.col.provenance": ("Xuất xứ", "Provenance"),
    "report.col.alerts": ("Cảnh báo", "Alerts"),
    "report.col.categories": ("Loại", "Kinds"),
    "report.col.conns": ("Kết nối", "Connections"),
    "report.col.sent": ("Gửi đi", "Sent"),
    "report.col.received": ("Nhận về", "Received"),
    "report.col.sensor": ("Cảm biến", "Sensor"),
    "report.col.hours": ("Giờ có dữ liệu", "Hours watched"),
    "report.col.gaps": ("Khoảng trống", "Gaps"),
    "report.col.fetched": ("Cập nhật lúc", "Fetched"),
    "report.col.age": ("Tuổi", "Age"),
    "report.col.entries": ("Mục", "Entries"),
    "report.col.requirement": ("Yêu cầu", "Requirement"),
    "report.col.order": ("Văn bản", "Order"),
    "report.col.observed": ("Quan sát được", "Observed"),
    "report.col.status": ("Đánh giá", "Status"),
    "report.state.new": ("mới", "new"),
    "report.state.notified": ("đã thông báo", "notified"),
    "report.state.acknowledged": ("đã tiếp nhận", "acknowledged"),
    "report.state.resolved": ("đã xử lý", "resolved"),
    "report.state.false_positive": ("báo nhầm", "false positive"),
    "report.state.silenced": ("tạm tắt", "silenced"),
    # -- what to do about each kind of finding
    "report.do.threat_feed_domain": (
        "Kiểm tra máy có mã độc; chặn tên miền tại DNS nội bộ và tường lửa.",
        "Check the host for malware; block the domain at the internal resolver and the firewall.",
    ),
    "report.do.threat_feed_ip": (
        "Chặn địa chỉ tại tường lửa; kiểm tra máy đã kết nối tới địa chỉ đó.",
        "Block the address at the firewall; check the hosts that connected to it.",
    ),
    "report.do.sigma": (
        "Xem quy tắc đã khớp và kiểm tra máy theo hướng dẫn của quy tắc.",
        "Read the matching rule and check the host as the rule advises.",
    ),
    "report.do.dga": (
        "Quét mã độc trên máy: tên miền sinh ngẫu nhiên là dấu hiệu của botnet.",
        "Scan the host for malware: random-looking domains are a botnet sign.",
    ),
    "report.do.dns_tunnel": (
        "Cách ly máy: dữ liệu có thể đang bị lấy ra qua DNS.",
        "Isolate the host: data may be leaving through DNS.",
    ),
    "report.do.beacon": (
        "Cách ly và điều tra máy: kết nối đều đặn ra ngoài là dấu hiệu bị điều khiển từ xa.",
        "Isolate and investigate the host: regular outbound calls are a remote-control sign.",
    ),
    "report.do.port_scan": (
        "Tìm chương trình quét trên máy nguồn; nếu không phải kiểm thử được phép, cách ly máy.",
        "Find what scans from the source host; unless it is an authorised test, isolate it.",
    ),
    "report.do.exfiltration": (
        "Xác minh ngay lượng dữ liệu gửi ra ngoài; nếu không có lý do, ngắt kết nối và báo cáo sự cố.",
        "Verify the data sent out now; without a reason, cut the connection and report an incident.",
    ),
    "report.do.nxdomain_burst": (
        "Kiểm tra máy: nhiều truy vấn tên miền không tồn tại thường do mã độc hoặc cấu hình sai.",
        "Check the host: bursts of non-existent names come from malware or a misconfiguration.",
    ),
    "report.do.policy_remote_access": (
        "Gỡ phần mềm truy cập từ xa (TeamViewer, UltraViewer, AnyDesk) theo chỉ đạo của Sở Y tế.",
        "Remove remote-access software (TeamViewer, UltraViewer, AnyDesk) as the health department orders.",
    ),
    "report.do.policy_ott": (
        "Nhắc nhân viên không trao đổi dữ liệu người bệnh qua Zalo, Telegram, Messenger.",
        "Remind staff not to exchange patient data over Zalo, Telegram or Messenger.",
    ),
    "report.do.policy_plaintext": (
        "Chuyển dịch vụ sang giao thức mã hóa (SFTP, HTTPS, IMAPS).",
        "Move the service to an encrypted protocol (SFTP, HTTPS, IMAPS).",
    ),
    "report.do.policy_weak_password": (
        "Đổi ngay mật khẩu yếu hoặc mặc định của tài khoản này.",
        "Change the weak or default password of this account now.",
    ),
    "report.do.policy_segmentation": (
        "Sửa quy tắc tường lửa để chặn truy cập từ vùng này vào HIS/EMR.",
        "Fix the firewall rules that let this zone reach HIS/EMR.",
    ),
    "report.do.policy_airgap": (
        "Ngắt ngay kết nối của mạng cách ly (bí mật nhà nước) với mạng khác và báo cáo lãnh đạo.",
        "Cut the isolated (state-secret) network's connection now and inform leadership.",
    ),
    "report.do.policy_dns_bypass": (
        "Chặn DNS ra ngoài (cổng 53, 853, DoH) ngoài máy chủ DNS của bệnh viện.",
        "Block outbound DNS (ports 53, 853, DoH) except from the hospital's resolver.",
    ),
    "report.do.sensor_silent": (
        "Kiểm tra cảm biến và cổng SPAN: thời gian im lặng là thời gian không được giám sát.",
        "Check the sensor and its SPAN port: silent time is unwatched time.",
    ),
    "report.do.sensor_drops": (
        "Tăng tài nguyên cảm biến hoặc giảm lưu lượng sao chép: gói tin bị bỏ sót.",
        "Give the sensor more capacity or mirror less: packets were missed.",
    ),
    "report.do.sensor_overload": (
        "Tăng tài nguyên cảm biến: cảm biến quá tải đã bỏ qua một phần lưu lượng.",
        "Give the sensor more capacity: an overloaded sensor skipped traffic.",
    ),
    # -- compliance
    "report.ok.met": ("Đạt", "Met"),
    "report.ok.violated": ("Vi phạm", "Violated"),
    "report.ok.not_observable": ("Không quan sát được", "Not observable"),
    "report.obs.alerts": ("{alerts} cảnh báo từ {hosts} máy", "{alerts} alerts from {hosts} hosts"),
    "report.obs.clean": (
        "Không có cảnh báo trên {records} bản ghi {logs}",
        "No alert over {records} {logs} records",
    ),
    "report.obs.no_logs": ("Không có bản ghi {logs} trong kỳ", "No {logs} records in the period"),
    "report.obs.no_zone": ("Cấu hình không khai báo vùng {zones}", "The config declares no {zones} zone"),
    "report.obs.no_feeds": ("Chưa cấu hình nguồn tin mối đe dọa", "No threat feeds configured"),
    "report.obs.sensor": ("Ngoài phạm vi của cảm biến mạng", "Beyond what a network sensor sees"),
    "report.obs.coverage": ("Giám sát {watched} / {hours} giờ", "Watched {watched} of {hours} hours"),
    "report.obs.handling": (
        "{open} / {urgent} cảnh báo mức nghiêm trọng hoặc cao chưa được tiếp nhận",
        "{open} of {urgent} critical or high alerts not taken",
    ),
    "report.req.passwords": ("Không dùng mật khẩu đơn giản, mặc định", "No simple or default passwords"),
    "report.req.encryption": ("Kết nối được mã hóa", "Encrypted connections"),
    "report.req.monitoring": ("Giám sát mạng liên tục", "Continuous network monitoring"),
    "report.req.dns": (
        "Truy vấn DNS đi qua máy chủ DNS của đơn vị (để giám sát được)",
        "DNS goes through the unit's resolver (so that it is watched)",
    ),
    "report.req.malicious": (
        "Phát hiện thiết bị kết nối tới tên miền, địa chỉ độc hại",
        "Find devices that connect to malicious domains and addresses",
    ),
    "report.req.malware": ("Phòng chống mã độc, mã độc tống tiền", "Malware and ransomware prevention"),
    "report.req.response": ("Ứng cứu, xử lý kịp thời các sự cố", "Timely incident response"),
    "report.req.airgap": (
        "Không kết nối mạng chứa bí mật nhà nước với mạng khác, Internet",
        "No connection between the state-secret network and other networks or the internet",
    ),
    "report.req.ott": (
        "Không trao đổi dữ liệu qua ứng dụng OTT (Zalo, Viber, Messenger, Telegram)",
        "No data exchange over OTT apps (Zalo, Viber, Messenger, Telegram)",
    ),
    "report.req.remote": (
        "Gỡ bỏ phần mềm truy cập từ xa (TeamViewer, UltraViewer, AnyDesk)",
        "Remove remote-access software (TeamViewer, UltraViewer, AnyDesk)",
    ),
    "report.req.segmentation": (
        "Tách mạng phục vụ người dân khỏi mạng nội bộ",
        "Separate the public network from the internal network",
    ),
    "report.req.leak": (
        "Phát hiện, báo cáo truy cập trái phép, rò rỉ dữ liệu",
        "Detect and report unauthorised access and data leaks",
    ),
    "report.req.sharing": (
        "Không chia sẻ tài khoản, dữ liệu cho người không có thẩm quyền",
        "No sharing of accounts or data with unauthorised people",
    ),
    # -- incidents (Circular 20/2017/TT-BTTTT, form 03)
    "report.i.none": (
        "Không có sự cố mức nghiêm trọng nào cần báo cáo trong kỳ.",
        "No critical incident to report in this period.",
    ),
    "report.i.title": ("Sự cố {n}: {what}", "Incident {n}: {what}"),
    "report.i.org": ("Tên đơn vị báo cáo", "Reporting organisation"),
    "report.i.contact": ("Người liên hệ", "Contact person"),
    "report.i.system": ("Hệ thống bị ảnh hưởng", "Affected system"),
    "report.i.system_value": (
        "Phân vùng {segment} (vùng {zone}, mức quan trọng {criticality}); máy {hosts}",
        "Segment {segment} (zone {zone}, criticality {criticality}); hosts {hosts}",
    ),
    "report.i.description": ("Mô tả sự cố", "Description"),
    "report.i.detected": ("Thời điểm phát hiện", "Detected at"),
    "report.i.method": ("Cách thức phát hiện", "Detection method"),
    "report.i.method_value": (
        "Cảm biến giám sát mạng wardwatch, quy tắc {rule}",
        "wardwatch network monitoring sensor, rule {rule}",
    ),
    "report.i.status": ("Tình trạng xử lý", "Status"),
    "report.i.public": ("Địa chỉ IP công cộng, tên miền liên quan", "Public IPs and domains involved"),
    "report.i.order": ("Văn bản liên quan", "Order concerned"),
    "report.i.unset": (
        "(chưa khai báo trong report.organisation / report.contact)",
        "(not set in report.organisation / report.contact)",
    ),
    # -- feeds, behaviour, hosts, coverage, handling
    "report.feeds.none": ("Không có trùng khớp nguồn tin trong kỳ.", "No feed hits in this period."),
    "report.feeds.fresh": ("Độ mới của nguồn tin", "Feed freshness"),
    "report.feeds.never": ("chưa tải", "never fetched"),
    "report.behaviour.none": (
        "Không có phát hiện hành vi trong kỳ.",
        "No behaviour findings in this period.",
    ),
    "report.hosts.by_alerts": ("Máy có nhiều cảnh báo nhất", "Hosts with the most alerts"),
    "report.hosts.talkers": ("Máy trao đổi nhiều dữ liệu nhất", "Hosts moving the most data"),
    "report.cov.watched": (
        "Cảm biến có dữ liệu {watched} / {hours} giờ của kỳ ({pct}%).",
        "Sensors had data for {watched} of the period's {hours} hours ({pct}%).",
    ),
    "report.cov.health": ("Sự kiện sức khỏe cảm biến", "Sensor health events"),
    "report.cov.health_none": (
        "Không có sự kiện mất gói, im lặng hay quá tải.",
        "No drops, silences or overloads.",
    ),
    "report.cov.none": ("Không có", "None"),
    "report.h.alerts": ("Cảnh báo trong kỳ", "Alerts in the period"),
    "report.h.acknowledged": ("Đã được tiếp nhận hoặc xử lý", "Acknowledged or handled"),
    "report.h.median": ("Thời gian tiếp nhận (trung vị)", "Time to acknowledge (median)"),
    "report.h.max": ("Thời gian tiếp nhận (lâu nhất)", "Time to acknowledge (longest)"),
    "report.h.fp": ("Đánh dấu báo nhầm", "Marked false positive"),
    "report.h.open": ("Mức nghiêm trọng hoặc cao chưa ai nhận", "Critical or high not taken"),
    "report.h.silences": ("Lệnh tạm tắt có hiệu lực trong kỳ", "Silences in force in the period"),
    "report.h.silences_none": ("Không có lệnh tạm tắt nào.", "No silences."),
    "report.h.by": ("bởi {author}: {comment}", "by {author}: {comment}"),
    # -- command and delivery
    "report.written": ("Đã ghi báo cáo {label} → {path}", "Report {label} written → {path}"),
    "report.mail.subject": (
        "[wardwatch] Báo cáo tuần {label}: mức rủi ro {risk}",
        "[wardwatch] Weekly report {label}: risk {risk}",
    ),
    "report.mail.body": (
        "Báo cáo an toàn thông tin tuần {label} được đính kèm (PDF). Mức rủi ro: {risk}.",
        "The security report for week {label} is attached (PDF). Risk level: {risk}.",
    ),
    "report.sent": ("Đã gửi báo cáo tuần {label} tới {to}", "Weekly report {label} sent to {to}"),
    "report.send_failed": (
        "Gửi báo cáo tuần {label} thất bại ({reason}); sẽ thử lại",
        "Sending weekly report {label} failed ({reason}); will retry",
    ),
    "report.build_failed": (
        "Lập báo cáo tuần {label} thất bại ({reason}); sẽ thử lại",
        "Building weekly report {label} failed ({reason}); will retry",
    ),
}
