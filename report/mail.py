"""The weekly report by e-mail, through a notify receiver's e-mail settings (``notify.receivers``,
the same SMTP server, TLS, login and CA): a short bilingual body and the PDF attached.

The SMTP transaction is notify's (``notify/channels/smtp.py`` ``deliver``)."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from wardwatch.notify.channels.smtp import deliver
from wardwatch.notify.settings import Email

from wardwatch import i18n

from .build import Report, file_stem


def build(target: Email, report: Report, now: float) -> EmailMessage:
    risk = i18n.text(f"report.risk.{report.model['risk']['level']}")
    label = report.period.label
    msg = EmailMessage(policy=SMTP)
    subject = i18n.text("report.mail.subject", label=label, risk=risk)
    msg["Subject"] = subject[0] if report.lang == "vi" else subject[1]
    msg["From"] = target.sender
    msg["To"] = ", ".join(target.to)
    msg["Date"] = formatdate(now, localtime=False)
    domain = target.sender.rpartition("@")[2] or "wardwatch"
    msg["Message-ID"] = make_msgid(idstring="report-" + file_stem(report), domain=domain)
    msg["Content-Language"] = "vi, en"
    body = i18n.text("report.mail.body", label=label, risk=risk)
    msg.set_content(f"{body[0]}\n\n{body[1]}\n", charset="utf-8")
    msg.add_attachment(
        report.pdf(), maintype="application", subtype="pdf", filename=file_stem(report) + ".pdf"
    )
    return msg


def send(target: Email, report: Report, now: float) -> None:
    """Deliver or raise ``DeliveryError`` with a one-line reason."""
    deliver(target, build(target, report, now))
