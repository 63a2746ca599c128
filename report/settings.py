"""The ``report:`` config section: who the weekly report is for and when ``wardwatch serve`` sends it.

report:
  receiver: leadership          # a notify receiver (notify.receivers) with an e-mail channel;
                                # omitted: the report is written to data_dir/reports/ only
  day: monday                   # when serve sends last week's report (local time)
  at: "07:00"
  timezone: Asia/Ho_Chi_Minh    # weeks run Monday 00:00 to Monday 00:00 in this zone
  lang: vi                      # vi | en
  organisation: "Bệnh viện Đa khoa tỉnh …"    # the incident form's reporting organisation
  contact: {name: "Nguyễn Văn A", role: "Trưởng phòng CNTT", phone: "0912 345 678", email: it@bv.vn}
  enabled: true                 # false: serve never sends (the command still works)
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field

from wardwatch.config import Config, declare_section, setting

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HHMM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class Contact:
    name: str = ""
    role: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class ReportSection:
    enabled: bool = True
    receiver: str | None = None
    day: str = setting("monday", choices=DAYS)
    at: str = "07:00"
    timezone: str = "Asia/Ho_Chi_Minh"
    lang: str = setting("vi", choices=("vi", "en"))
    organisation: str = ""
    contact: Contact = field(default_factory=Contact)


@dataclass(frozen=True)
class ReportSettings:
    enabled: bool
    receiver: str | None
    weekday: int  # 0 = Monday
    minute: int  # minutes after local midnight
    timezone: str
    lang: str
    organisation: str
    contact: Contact


def report_settings(config: Config) -> ReportSettings:
    sec: ReportSection = config.section("report", ReportSection)
    m = _HHMM.fullmatch(sec.at.strip())
    if m is None:
        raise config.error(("report", "at"), f"expected a time such as 07:00, got {sec.at!r}")
    try:
        zoneinfo.ZoneInfo(sec.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise config.error(
            ("report", "timezone"), f"unknown time zone {sec.timezone!r} (e.g. Asia/Ho_Chi_Minh)"
        ) from None
    if sec.receiver is not None:
        # the receiver must exist in notify's section and have an e-mail channel (checked at start,
        # not on the first Monday)
        from wardwatch.notify.settings import Email, load_notify_settings

        receivers = load_notify_settings(config).receivers
        rec = receivers.get(sec.receiver)
        if rec is None:
            known = ", ".join(sorted(k for k in receivers if k != "report")) or "none"
            raise config.error(
                ("report", "receiver"), f"no notify receiver named {sec.receiver!r} (known: {known})"
            )
        if not any(isinstance(c, Email) for c in rec.channels):
            raise config.error(("report", "receiver"), f"receiver {sec.receiver!r} has no e-mail channel")
    return ReportSettings(
        enabled=sec.enabled,
        receiver=sec.receiver,
        weekday=DAYS.index(sec.day),
        minute=int(m.group(1)) * 60 + int(m.group(2)),
        timezone=sec.timezone,
        lang=sec.lang,
        organisation=sec.organisation,
        contact=sec.contact,
    )


declare_section("report", ReportSection, report_settings)
