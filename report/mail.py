"""The weekly report by e-mail, through a notify receiver's e-mail settings (``notify.receivers``,
the same SMTP server, TLS, login and CA): a short bilingual body and the PDF attached.

The SMTP transaction mirrors ``notify/channels/smtp.py``'s ``send``, which builds its own alert
message and takes no attachment; it is kept here, small, until notify exposes a send of a built
message (then this module keeps only ``build``)."""

from __future__ import annotations

import base64
import smtplib
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from wardwatch.notify.channels import DeliveryError, tls_context
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
    msg = build(target, report, now)
    ctx = tls_context(target.ca_file)
    try:
        if target.tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                target.host, target.port, timeout=target.timeout, context=ctx
            )
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
        with client:
            client.ehlo()
            if target.starttls and not target.tls:
                client.starttls(context=ctx)
                client.ehlo()
            if target.username:
                user, password = target.username, target.password or ""
                if (user + password).isascii():
                    client.login(user, password)
                else:  # smtplib encodes credentials as ASCII: AUTH PLAIN in UTF-8 (RFC 4616)
                    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
                    code, reply = client.docmd("AUTH", "PLAIN " + token)
                    if code != 235:
                        raise smtplib.SMTPAuthenticationError(code, reply)
            client.send_message(msg)
    except smtplib.SMTPAuthenticationError as e:
        raise DeliveryError(f"SMTP {target.host}:{target.port}: login refused ({e.smtp_code})") from None
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(f"SMTP {target.host}:{target.port}: the server offers no STARTTLS") from None
    except smtplib.SMTPException as e:
        raise DeliveryError(f"SMTP {target.host}:{target.port}: {e}") from None
    except (TimeoutError, OSError) as e:
        raise DeliveryError(
            f"SMTP {target.host}:{target.port}: {getattr(e, 'strerror', None) or e}"
        ) from None
