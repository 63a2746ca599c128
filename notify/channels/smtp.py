"""E-mail over SMTP: STARTTLS (or implicit TLS) with certificate checks, optional login, one message
with a plain-text and an HTML part, Vietnamese first. Headers are UTF-8 (RFC 6532/2047 as the
standard library's ``email.policy.SMTP`` writes them), so diacritics arrive intact."""

from __future__ import annotations

import base64
import smtplib
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from typing import Any

from .. import render
from ..settings import Email
from . import DeliveryError, tls_context


def build(target: Email, doc: dict[str, Any], now: float) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = render.subject(doc)
    msg["From"] = target.sender
    msg["To"] = ", ".join(target.to)
    msg["Date"] = formatdate(now, localtime=False)
    # the same id for every try of one message: a resend after a crash folds into one thread
    domain = target.sender.rpartition("@")[2] or "wardwatch"
    msg["Message-ID"] = make_msgid(idstring=doc["id"], domain=domain).split("@")[0] + f"@{domain}>"
    msg["X-Wardwatch-Id"] = doc["id"]
    msg["Content-Language"] = "vi, en"
    msg.set_content(render.text(doc), charset="utf-8")
    msg.add_alternative(render.html(doc), subtype="html", charset="utf-8")
    return msg


def send(target: Email, doc: dict[str, Any], now: float) -> None:
    deliver(target, build(target, doc, now))


def deliver(target: Email, msg: EmailMessage) -> None:
    """One SMTP transaction for a built message (the alert mails here, the weekly report's with its
    PDF): TLS or STARTTLS, login, send; ``DeliveryError`` with a one-line reason otherwise."""
    ctx = tls_context(target.ca_file)
    try:
        if target.tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(target.host, target.port, timeout=target.timeout, context=ctx)
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
        with client:
            client.ehlo()
            if target.starttls and not target.tls:
                client.starttls(context=ctx)
                client.ehlo()
            if target.username:
                _login(client, target.username, target.password or "")
            client.send_message(msg)
    except smtplib.SMTPAuthenticationError as e:
        raise DeliveryError(f"SMTP {target.host}:{target.port}: login refused ({e.smtp_code})") from None
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(f"SMTP {target.host}:{target.port}: the server offers no STARTTLS") from None
    except smtplib.SMTPException as e:
        raise DeliveryError(f"SMTP {target.host}:{target.port}: {e}") from None
    except (TimeoutError, OSError) as e:
        raise DeliveryError(f"SMTP {target.host}:{target.port}: {getattr(e, 'strerror', None) or e}") from None


def _login(client: smtplib.SMTP, user: str, password: str) -> None:
    """``login``, except that smtplib encodes credentials as ASCII: a Vietnamese password goes as
    AUTH PLAIN in UTF-8 (RFC 4616) instead."""
    if (user + password).isascii():
        client.login(user, password)
        return
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
    code, reply = client.docmd("AUTH", "PLAIN " + token)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)
