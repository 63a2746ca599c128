"""Cleartext logins on FTP, POP3, IMAP, SMTP and Telnet (login.log).

Each analyser follows the opening dialogue of one connection and emits a record per login attempt:
user, whether the password is weak, and whether the server accepted it when its reply says so. The
password itself is checked at once and dropped: it is never stored on the analyser, in a record, a
log line or an exception message.
"""

from __future__ import annotations

import base64
import binascii

from .passwords import is_weak

Record = dict[str, object]
MAX_LINE = 2048
ANONYMOUS_USERS = frozenset(("anonymous", "ftp"))


def _text(value: bytes) -> str:
    return value.decode("utf-8", "backslashreplace")


def _b64(value: str) -> str | None:
    try:
        return base64.b64decode(value.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None


class LoginAnalyser:
    """Shared machinery: attempt bookkeeping, and line splitting for the line-based protocols."""

    service = ""

    def __init__(self) -> None:
        self.lines = [bytearray(), bytearray()]  # [server, client]
        self.recognised = False
        self.done = False
        self.user: str | None = None
        self.attempt: Record | None = None  # the last attempt, waiting for the server's verdict
        self.out: list[Record] = []
        self.sasl: str | None = None  # "plain", "login-user", "login-pass" while a SASL exchange runs
        self.ts = 0.0

    def wants(self, from_client: bool) -> bool:
        return not self.done

    def on_data(self, from_client: bool, data: bytes, ts: float) -> list[Record]:
        self.ts = ts
        buf = self.lines[from_client]
        buf += data
        while not self.done:
            end = buf.find(b"\n")
            if end < 0:
                if len(buf) > MAX_LINE:
                    buf.clear()
                break
            line = bytes(buf[:end]).rstrip(b"\r")
            del buf[: end + 1]
            if from_client:
                self.client_line(line)
            else:
                self.server_line(line)
        out, self.out = self.out, []
        return out

    def client_line(self, line: bytes) -> None:
        raise NotImplementedError

    def server_line(self, line: bytes) -> None:
        raise NotImplementedError

    def _attempt(self, user: str | None, password: str) -> None:
        """Record a login attempt; ``password`` goes no further than the weakness check."""
        if self.attempt is not None:
            self.out.append(self.attempt)
        rec: Record = {"_path": "login", "ts": self.ts, "service": self.service}
        if user is not None:
            rec["user"] = user
        # anonymous FTP's "password" is by convention an e-mail address, not a secret: the detectors
        # report anonymous access for it, never a weak password
        anonymous = self.service == "ftp" and (user or "").strip().lower() in ANONYMOUS_USERS
        rec["weak_password"] = False if anonymous else is_weak(password, user)
        self.attempt = rec

    def _verdict(self, success: bool) -> None:
        if self.attempt is None:
            return
        self.attempt["success"] = success
        self.out.append(self.attempt)
        self.attempt = None
        if success:
            self.done = True

    def _sasl_line(self, line: bytes) -> bool:
        """Feed a client line to a running SASL PLAIN/LOGIN exchange; False if none is running."""
        if self.sasl is None:
            return False
        text = _text(line).strip()
        mech, self.sasl = self.sasl, None
        if text == "*":
            return True  # client cancelled
        decoded = _b64(text)
        if decoded is None:
            return True
        if mech == "plain":
            self._plain(decoded)
        elif mech == "login-user":
            self.user = decoded
            self.sasl = "login-pass"
        elif mech == "login-pass":
            self._attempt(self.user, decoded)
        return True

    def _plain(self, decoded: str) -> None:
        # authzid NUL authcid NUL passwd (RFC 4616)
        parts = decoded.split("\x00")
        if len(parts) == 3:
            self._attempt(parts[1] or parts[0], parts[2])

    def _start_sasl(self, args: list[str]) -> None:
        """``AUTH``/``AUTHENTICATE`` with its mechanism and optional initial response."""
        if not args:
            return
        mech = args[0].upper()
        if mech == "PLAIN":
            if len(args) > 1 and args[1] != "=":
                decoded = _b64(args[1])
                if decoded is not None:
                    self._plain(decoded)
            else:
                self.sasl = "plain"
        elif mech == "LOGIN":
            if len(args) > 1:
                self.user = _b64(args[1])
                self.sasl = "login-pass"
            else:
                self.sasl = "login-user"

    def finish(self) -> list[Record]:
        out = self.out
        if self.attempt is not None:
            out.append(self.attempt)
        self.out, self.attempt = [], None
        return out


def _command(line: bytes) -> tuple[str, list[str]]:
    words = _text(line).split()
    return (words[0].upper(), words[1:]) if words else ("", [])


class FtpAnalyser(LoginAnalyser):
    service = "ftp"

    def client_line(self, line: bytes) -> None:
        cmd, args = _command(line)
        if cmd == "USER":
            self.user = " ".join(args)
        elif cmd == "PASS":
            self._attempt(self.user, _text(line)[5:])
        elif cmd == "AUTH":
            self.done = True  # AUTH TLS: the rest is encrypted

    def server_line(self, line: bytes) -> None:
        code = line[:3]
        if code == b"220":
            self.recognised = True
        elif code == b"230":
            self._verdict(True)
        elif code == b"530":
            self._verdict(False)


class Pop3Analyser(LoginAnalyser):
    service = "pop3"

    def client_line(self, line: bytes) -> None:
        if self._sasl_line(line):
            return
        cmd, args = _command(line)
        if cmd == "USER":
            self.user = " ".join(args)
        elif cmd == "PASS":
            self._attempt(self.user, _text(line)[5:])
        elif cmd == "AUTH":
            self._start_sasl(args)
        elif cmd == "STLS":
            self.done = True

    def server_line(self, line: bytes) -> None:
        if line.startswith(b"+OK"):
            self.recognised = True
            self._verdict(True)
        elif line.startswith(b"-ERR"):
            self._verdict(False)


class ImapAnalyser(LoginAnalyser):
    service = "imap"

    def __init__(self) -> None:
        super().__init__()
        self.tag: bytes | None = None

    def client_line(self, line: bytes) -> None:
        if self._sasl_line(line):
            return
        tag, _, rest = line.partition(b" ")
        cmd, args = _command(rest)
        if cmd == "LOGIN":
            words = _imap_strings(_text(rest)[5:].strip())
            if len(words) >= 2:
                self.tag = tag
                self._attempt(words[0], words[1])
        elif cmd == "AUTHENTICATE":
            self.tag = tag
            self._start_sasl(args)
        elif cmd == "STARTTLS":
            self.done = True

    def server_line(self, line: bytes) -> None:
        if line.startswith(b"* OK"):
            self.recognised = True
        elif self.tag is not None and line.startswith(self.tag + b" "):
            status = line[len(self.tag) + 1 :][:3].upper()
            if status.startswith(b"OK"):
                self._verdict(True)
            elif status.startswith((b"NO", b"BAD")):
                self._verdict(False)


def _imap_strings(text: str) -> list[str]:
    """IMAP atoms and quoted strings (literals ``{n}`` are not followed)."""
    out: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos] == " ":
            pos += 1
        elif text[pos] == '"':
            word = []
            pos += 1
            while pos < len(text) and text[pos] != '"':
                if text[pos] == "\\" and pos + 1 < len(text):
                    pos += 1
                word.append(text[pos])
                pos += 1
            out.append("".join(word))
            pos += 1
        else:
            end = text.find(" ", pos)
            end = len(text) if end < 0 else end
            out.append(text[pos:end])
            pos = end
    return out


class SmtpAnalyser(LoginAnalyser):
    service = "smtp"

    def client_line(self, line: bytes) -> None:
        if self._sasl_line(line):
            return
        cmd, args = _command(line)
        if cmd == "AUTH":
            self._start_sasl(args)
        elif cmd in ("STARTTLS", "MAIL", "DATA", "QUIT"):
            self.done = True  # no login on this connection (or it is encrypted from here on)

    def server_line(self, line: bytes) -> None:
        code = line[:3]
        if code == b"220":
            self.recognised = True
        elif code == b"235":
            self._verdict(True)
        elif code[:1] in (b"4", b"5") and self.attempt is not None:
            self._verdict(False)


# --- Telnet -------------------------------------------------------------------------------------------

IAC, SB, SE = 0xFF, 0xFA, 0xF0
WILL, WONT, DO, DONT = 0xFB, 0xFC, 0xFD, 0xFE
FAIL_WORDS = ("incorrect", "invalid", "failed", "denied", "fail", "wrong", "bad password")
OK_WORDS = ("welcome", "busybox", "built-in shell", "$ ", "# ", "> ", "~]", "~$")
MAX_LOGIN_ATTEMPTS = 5


def _as_read(text: str) -> str:
    """A UTF-8 prompt as the analyser reads server text: bytes as Latin-1, lower-cased."""
    return text.encode("utf-8").decode("latin-1").lower()


# The server's text since the last Enter says what the next typed line is. A password read as a user name
# would be stored in clear in ``user``, so a password word anywhere wins (a user name read as a password
# is only dropped), and password words are matched widely ("pass" covers password, passcode, passwort,
# mot de passe) and in Vietnamese, with or without diacritics.
PASSWORD_PROMPTS = ("pass", "kennwort", "contrase", "senha", "mat khau", _as_read("mật khẩu"))
USER_PROMPTS = (
    "login",
    "user",
    "name",
    "dang nhap",
    "tai khoan",
    _as_read("đăng nhập"),
    _as_read("tài khoản"),
)


def _any(prompt: str, words: tuple[str, ...]) -> bool:
    return any(w in prompt for w in words)


def strip_iac(data: bytes, state: bytearray) -> bytes:
    """Remove Telnet option negotiation (RFC 854/855); ``state`` carries an unfinished command over."""
    data = bytes(state) + data
    state.clear()
    out = bytearray()
    pos = 0
    n = len(data)
    while pos < n:
        b = data[pos]
        if b != IAC:
            nxt = data.find(IAC, pos)
            nxt = n if nxt < 0 else nxt
            out += data[pos:nxt]
            pos = nxt
            continue
        if pos + 1 >= n:
            state += data[pos:]
            break
        cmd = data[pos + 1]
        if cmd == IAC:
            out.append(IAC)
            pos += 2
        elif cmd in (WILL, WONT, DO, DONT):
            if pos + 2 >= n:
                state += data[pos:]
                break
            pos += 3
        elif cmd == SB:
            end = data.find(bytes([IAC, SE]), pos + 2)
            if end < 0:
                if n - pos < 512:
                    state += data[pos:]
                break
            pos = end + 2
        else:
            pos += 2
    return bytes(out)


class TelnetAnalyser(LoginAnalyser):
    """Server prompts decide what a typed line is; keystrokes may come one per packet, echoed back."""

    service = "telnet"

    def __init__(self) -> None:
        super().__init__()
        self.iac = [bytearray(), bytearray()]
        self.typed = bytearray()  # the line being typed (may hold a password until Enter)
        self.prompt = ""  # server text since the client last pressed Enter, lower case, bounded
        self.reply = ""  # server text since the last password line
        self.attempts = 0
        self.prev_cr = False

    def on_data(self, from_client: bool, data: bytes, ts: float) -> list[Record]:
        text = strip_iac(data, self.iac[from_client])
        if from_client:
            self._keys(text, ts)
        else:
            self._server(text)
        out, self.out = self.out, []
        return out

    def _server(self, text: bytes) -> None:
        chunk = text.decode("latin-1").lower()
        self.prompt = (self.prompt + chunk)[-256:]
        if self.attempt is None:
            if _any(self.prompt, PASSWORD_PROMPTS) or _any(self.prompt, USER_PROMPTS):
                self.recognised = True
            return
        self.reply = (self.reply + chunk)[-512:]
        if "last login" in self.reply or "last failed login" in self.reply:
            self._verdict(True)  # before FAIL_WORDS: "There were 3 failed login attempts since…"
        elif any(w in self.reply for w in FAIL_WORDS):
            self._verdict(False)
        elif self.reply.rstrip().endswith(("login:", "password:", "username:")):
            self._verdict(False)  # asked again without a message: rejected
        elif any(w in self.reply for w in OK_WORDS):
            self._verdict(True)

    def _keys(self, text: bytes, ts: float) -> None:
        for b in text:
            if b in (0x0D, 0x0A):
                if b == 0x0A and self.prev_cr:
                    self.prev_cr = False
                    continue
                self.prev_cr = b == 0x0D
                self._enter(ts)
            elif b == 0:
                continue  # CR NUL
            elif b in (0x08, 0x7F):
                self.prev_cr = False
                if self.typed:
                    self.typed.pop()
            else:
                self.prev_cr = False
                if len(self.typed) < 256:
                    self.typed.append(b)
            if self.done:
                self.typed.clear()
                return

    def _enter(self, ts: float) -> None:
        line = self.typed.decode("utf-8", "replace")
        self.typed.clear()
        prompt, self.prompt = self.prompt, ""
        self.ts = ts
        if _any(prompt, PASSWORD_PROMPTS):
            self.reply = ""
            self.attempts += 1
            self._attempt(self.user, line)
            self.user = None
            if self.attempts >= MAX_LOGIN_ATTEMPTS:
                self.done = True
        elif _any(prompt, USER_PROMPTS) or self.user is None:
            if self.attempt is not None:
                return  # typing at a shell before the verdict was visible
            self.user = line.strip()
