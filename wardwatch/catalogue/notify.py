"""The words of ``notify/``: key → (Vietnamese, English), str.format templates with the same
placeholders on both sides (see ``wardwatch.i18n``). Terms follow the project's glossary."""

from __future__ import annotations

from collections.abc import Mapping

MESSAGES: Mapping[str, tuple[str, str]] = {
    # the message itself
    "notify.subject": (
        "[wardwatch] {severity}: {what} · {where} ({alerts:,} cảnh báo)",
        "[wardwatch] {severity}: {what} · {where} ({alerts:,} alerts)",
    ),
    "notify.subject_escalation": (
        "[wardwatch] CHUYỂN CẤP {level}: chưa được xác nhận sau {minutes} phút · {what} · {where}",
        "[wardwatch] ESCALATION {level}: not acknowledged after {minutes} min · {what} · {where}",
    ),
    "notify.subject_reminder": (
        "[wardwatch] NHẮC LẠI: {open:,} cảnh báo vẫn chưa được xác nhận sau {hours:g} giờ · {what} · {where}",
        "[wardwatch] REMINDER: {open:,} alerts still not acknowledged after {hours:g} h · {what} · {where}",
    ),
    "notify.reminder": (
        "Đây là tin nhắc lại: các cảnh báo dưới đây đã được thông báo nhưng vẫn chưa được xác nhận hay xử lý sau {hours:g} giờ.",
        "This is a reminder: the alerts below were notified but are still not acknowledged or resolved after {hours:g} hours.",
    ),
    "notify.heading": ("Cảnh báo an toàn thông tin mạng", "Network security alert"),
    "notify.escalated": (
        "Cảnh báo này chưa được cán bộ trực xác nhận sau {minutes} phút, nên được chuyển lên cấp {level}.",
        "This alert was not acknowledged by the on-call engineer within {minutes} minutes, so it is escalated to level {level}.",
    ),
    "notify.summary": (
        "{alerts:,} cảnh báo ({events:,} sự kiện) từ {hosts:,} máy, {first} → {last}",
        "{alerts:,} alerts ({events:,} events) from {hosts:,} hosts, {first} → {last}",
    ),
    "notify.what": ("Sự việc", "What"),
    "notify.hosts": ("Máy và phân vùng mạng", "Hosts and segments"),
    "notify.more": ("… và {count:,} mục khác", "… and {count:,} more"),
    "notify.directive": ("Vi phạm chỉ thị / công văn", "Breaks the order"),
    "notify.first_steps": ("Biện pháp khuyến nghị (làm trước)", "Recommended action (do first)"),
    "notify.links": ("Xác nhận xử lý", "Acknowledge"),
    "notify.link.ack": ("Xác nhận đã nhận", "Acknowledge"),
    "notify.link.resolve": ("Đã xử lý", "Resolved"),
    "notify.link.fp": ("Cảnh báo nhầm", "False positive"),
    "notify.link_note": (
        "Liên kết có hiệu lực đến {until}. Hoặc: wardwatch alerts ack {uid} --config …",
        "Links work until {until}. Or: wardwatch alerts ack {uid} --config …",
    ),
    "notify.privacy": (
        "Tin này không chứa dữ liệu cá nhân hay nội dung gói tin; xem chi tiết trên bảng điều khiển.",
        "This message carries no personal data or packet contents; see the details on the console.",
    ),
    # what to do first, per category
    "notify.action.threat_feed_domain": (
        "Xác định máy đã truy vấn, chặn tên miền trên máy chủ DNS và tường lửa, quét mã độc máy đó",
        "Find the host that looked it up, block the domain at the DNS server and firewall, scan the host for malware",
    ),
    "notify.action.threat_feed_ip": (
        "Chặn địa chỉ IP trên tường lửa, kiểm tra máy đã kết nối và quét mã độc",
        "Block the address at the firewall, check the host that connected and scan it for malware",
    ),
    "notify.action.sigma": (
        "Đọc luật phát hiện trên bảng điều khiển, kiểm tra máy liên quan",
        "Read the detection rule on the console and check the host concerned",
    ),
    "notify.action.dga": (
        "Cách ly máy khỏi mạng và quét mã độc (dấu hiệu mã độc liên lạc máy chủ điều khiển)",
        "Isolate the host and scan it for malware (a sign of malware calling its controller)",
    ),
    "notify.action.dns_tunnel": (
        "Cách ly máy, chặn tên miền trên máy chủ DNS; kiểm tra rò rỉ dữ liệu",
        "Isolate the host, block the domain at the DNS server; check for data exfiltration",
    ),
    "notify.action.beacon": (
        "Cách ly máy và quét mã độc; chặn địa chỉ máy chủ điều khiển (C2) trên tường lửa",
        "Isolate the host and scan it for malware; block the C2 address at the firewall",
    ),
    "notify.action.port_scan": (
        "Xác định máy đang dò quét; nếu không phải công cụ quản trị đã biết, cách ly máy và quét mã độc",
        "Identify the scanning host; unless it is a known admin tool, isolate it and scan it for malware",
    ),
    "notify.action.exfiltration": (
        "Cách ly máy ngay, xác định dữ liệu đã gửi ra ngoài; báo cáo sự cố theo quy định",
        "Isolate the host now, find what data left; report the incident as the orders require",
    ),
    "notify.action.nxdomain_burst": (
        "Kiểm tra máy có mã độc (DGA) hoặc cấu hình DNS sai",
        "Check the host for malware (DGA) or a broken DNS setting",
    ),
    "notify.action.policy_remote_access": (
        "Gỡ phần mềm truy cập từ xa khỏi máy (TeamViewer, UltraViewer…) theo chỉ thị",
        "Remove the remote-access software from the host (TeamViewer, UltraViewer…) as the order asks",
    ),
    "notify.action.policy_ott": (
        "Nhắc người dùng không trao đổi dữ liệu người bệnh qua ứng dụng nhắn tin OTT; chặn nếu cần",
        "Remind the user not to exchange patient data over OTT messaging apps; block it if needed",
    ),
    "notify.action.policy_plaintext": (
        "Chuyển dịch vụ sang kết nối mã hóa và đổi mật khẩu tài khoản đã lộ",
        "Move the service to an encrypted connection and change the exposed account's password",
    ),
    "notify.action.policy_weak_password": (
        "Đổi ngay mật khẩu yếu hoặc mật khẩu mặc định thành mật khẩu mạnh",
        "Change the weak or default password to a strong one now",
    ),
    "notify.action.policy_segmentation": (
        "Kiểm tra luật tường lửa giữa hai phân vùng mạng; chặn lưu lượng không được phép",
        "Check the firewall rules between the two segments; block the traffic that is not allowed",
    ),
    "notify.action.policy_airgap": (
        "Ngắt ngay kết nối Internet của mạng chứa thông tin bí mật nhà nước; báo cáo sự cố",
        "Cut the state-secret network's internet connection now; report the incident",
    ),
    "notify.action.policy_dns_bypass": (
        "Buộc máy dùng máy chủ DNS của bệnh viện; chặn DNS ra ngoài trên tường lửa",
        "Make the host use the hospital's DNS server; block outbound DNS at the firewall",
    ),
    "notify.action.sensor_silent": (
        "Kiểm tra cảm biến giám sát, cáp và cổng SPAN: mạng có thể đang không được giám sát",
        "Check the sensor, its cable and the SPAN port: the network may be unmonitored",
    ),
    "notify.action.sensor_drops": (
        "Kiểm tra tải của cảm biến giám sát; tăng số tiến trình hoặc bộ đệm",
        "Check the sensor's load; add workers or buffer",
    ),
    "notify.action.sensor_overload": (
        "Giảm tải cho cảm biến giám sát (bộ lọc BPF, thêm tiến trình) hoặc nâng cấp máy",
        "Relieve the sensor (BPF filter, more workers) or upgrade the machine",
    ),
    # the acknowledgement page (signed links)
    "notify.page.confirm": ("Xác nhận thao tác cho {alerts} cảnh báo", "Confirm the action for {alerts} alerts"),
    "notify.page.done": ("Đã ghi nhận: {action} ({alerts} cảnh báo)", "Recorded: {action} ({alerts} alerts)"),
    "notify.page.bad": ("Liên kết không hợp lệ: {reason}", "The link is not valid: {reason}"),
    # the notifier's log and the CLI
    "notify.started": (
        "bộ gửi cảnh báo đang chạy: {receivers} nơi nhận, kiểm tra kho mỗi {poll:g} giây",
        "notifier running: {receivers} receivers, reading the store every {poll:g}s",
    ),
    "notify.disabled": (
        "chưa khai báo nơi nhận cảnh báo (notify.receivers trong {config}): không gửi gì",
        "no notification receivers (notify.receivers in {config}): nothing will be sent",
    ),
    "notify.delivery_failed": (
        "gửi tin {id} tới {receiver} thất bại (lần {attempts}), thử lại sau {wait:g} giây: {error}",
        "sending {id} to {receiver} failed (attempt {attempts}), next try in {wait:g}s: {error}",
    ),
    "notify.gave_up": (
        "BỎ CUỘC gửi tin {id} tới {receiver} sau {attempts} lần: {error}",
        "GAVE UP sending {id} to {receiver} after {attempts} attempts: {error}",
    ),
    "notify.serve_running": (
        "dịch vụ wardwatch serve (PID {pid}) đang giữ kho và đã tự gửi cảnh báo: không cần chạy notify",
        "wardwatch serve (PID {pid}) holds the store and sends notifications itself: notify is not needed",
    ),
    "notify.state.new": ("mới", "new"),
    "notify.state.notified": ("đã thông báo", "notified"),
    "notify.state.acknowledged": ("đã xác nhận", "acknowledged"),
    "notify.state.resolved": ("đã xử lý", "resolved"),
    "notify.state.false_positive": ("cảnh báo nhầm", "false positive"),
    "notify.state.silenced": ("đã tắt tiếng", "silenced"),
    "alerts.no_such": ("không có cảnh báo {uid} trong kho", "there is no alert {uid} in the store"),
    "alerts.recorded": (
        "{uid}: {state} (bởi {who})",
        "{uid}: {state} (by {who})",
    ),
    "alerts.silence_made": (
        "đã tạo lệnh tắt tiếng {id} đến {until} ({matchers})",
        "silence {id} created until {until} ({matchers})",
    ),
    "alerts.silence_expired": ("đã kết thúc lệnh tắt tiếng {id}", "silence {id} expired"),
    "alerts.no_silence": ("không có lệnh tắt tiếng {id}", "there is no silence {id}"),
    "alerts.silence_usage": (
        "cần một mã cảnh báo, hoặc --match NHÃN=GIÁ_TRỊ (kèm --for), hoặc --list / --expire",
        "give an alert id, or --match LABEL=VALUE (with --for), or --list / --expire",
    ),
    "alerts.bad_match": ("điều kiện không hợp lệ {text!r}: {reason}", "bad matcher {text!r}: {reason}"),
}
