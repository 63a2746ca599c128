"""Secrets in URLs are masked before a record leaves the sensor.

Hospital web applications, devices and their APIs put credentials in URLs: ``/login?user=a&password=b``,
``?access_token=…``, ``;jsessionid=…``, ``http://admin:admin@pump/``. The sensor writes ``http.uri`` and
``http.referrer`` to the store and the bus, where they would sit in clear for weeks. Each parameter
whose name says it holds a secret keeps its name and loses its value (``password=[REDACTED]``); the
password of a URL's user information likewise (``admin:[REDACTED]@``). Everything else is kept as sent,
so path-based detection (feeds, Sigma) still sees the request.

A name is a secret's when, percent-decoded, lower-cased and stripped of everything but letters and
digits (``New-Password``, ``user[password]``, ``X-Amz-Signature``, ``pass%77ord`` all count), it is one
of ``SECRET_NAMES`` or contains one of ``SECRET_PARTS``. Over-masking costs little (a value nobody needed
in an alert); under-masking leaks a credential, so the lists lean wide.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

REDACTED = "[REDACTED]"

SECRET_NAMES = frozenset(
    {
        # passwords and PINs
        "pass", "pwd", "pw", "passwd", "password", "passcode", "passphrase", "pin", "otp", "totp",
        "mk",  # "mật khẩu" in Vietnamese applications (``?tk=…&mk=…``)
        # tokens, keys and signatures that authenticate whoever holds the URL
        "token", "auth", "authorization", "key", "apikey", "secret", "sig", "signature", "jwt", "bearer",
        "ticket", "samlresponse", "samlrequest", "credential", "credentials", "cred", "creds",
        "subscriptionkey",
        # session identifiers: whoever replays one is logged in
        "session", "sessionid", "sid", "sessid", "phpsessid", "jsessionid", "cfid", "cftoken",
    }
)  # fmt: skip
SECRET_PARTS = (
    "password", "passwd", "passphrase", "pwd", "matkhau", "secret", "token", "apikey", "accesskey",
    "privatekey", "authkey", "secretkey", "sessionid", "sessid", "credential", "signature",
)  # fmt: skip

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_PATH_SEP = re.compile(r"([;/])")
_QUERY_SEP = re.compile(r"([&;#])")


def secret_name(name: str) -> bool:
    """Does a parameter of this name (as written in the URL) hold a secret?"""
    key = _NOT_ALNUM.sub("", unquote_plus(name, errors="replace").lower())
    return key in SECRET_NAMES or any(p in key for p in SECRET_PARTS)


def _params(text: str, sep: re.Pattern[str]) -> str:
    """``name=value`` pairs between separators, secret values masked."""
    if "=" not in text:
        return text
    parts = sep.split(text)  # [pair, separator, pair, …]
    out: list[str] = []
    masking = False
    for i, part in enumerate(parts):
        if i % 2:
            # A raw '#' cannot end a secret's value: whatever follows up to the next pair goes too.
            if masking and part == "#":
                continue
            masking = False
            out.append(part)
            continue
        if masking:
            continue
        name, eq, _ = part.partition("=")
        if eq and secret_name(name):
            out.append(name + "=" + REDACTED)
            masking = True
        else:
            out.append(part)
    return "".join(out)


def _authority(authority: str) -> str:
    """``user:password@host`` → ``user:[REDACTED]@host``."""
    info, at, host = authority.rpartition("@")
    if not at:
        return authority
    user, colon, _ = info.partition(":")
    return f"{user}:{REDACTED}@{host}" if colon else authority


def redact_url(url: str) -> str:
    """A request target or a Referer with every secret value masked (see the module doc)."""
    if "=" not in url and "@" not in url:
        return url  # nearly every request: nothing that could hold a secret
    head = ""
    scheme = url.find("://", 0, 24)
    if scheme > 0:
        start = scheme + 3
        end = min((i for i in (url.find(c, start) for c in "/?#") if i >= 0), default=len(url))
        head, url = url[:start] + _authority(url[start:end]), url[end:]
    cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))
    path, tail = url[:cut], url[cut:]
    out = head + _params(path, _PATH_SEP)
    if tail:
        out += tail[0] + _params(tail[1:], _QUERY_SEP)
    return out
