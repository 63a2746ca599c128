"""Cleartext logins in binary protocols HIS databases and directories speak: LDAP simple bind and
PostgreSQL's cleartext password (login.log, as the line-based analysers of login.py).

- LDAP (RFC 4511): a BindRequest with ``simple`` authentication carries the DN and the password in
  clear; the BindResponse's resultCode says whether it was accepted. An anonymous bind (empty DN or
  empty password, RFC 4513 5.1.1-2) is no login. StartTLS ends the analysis.
- PostgreSQL (frontend/backend protocol 3.0): the StartupMessage names the user; when the server
  asks for a cleartext password (AuthenticationCleartextPassword, code 3) the client's
  PasswordMessage carries it; AuthenticationOk or an ErrorResponse gives the verdict. An SSLRequest
  that the server accepts, or MD5/SCRAM authentication (no password in clear), ends the analysis.

MySQL and MSSQL are not covered: their ordinary logins send no password in clear (MySQL's
``mysql_clear_password`` plugin and TDS's obfuscated password are the exceptions).

As in login.py, the password goes no further than the weakness check.
"""

from __future__ import annotations

import struct

from .login import LoginAnalyser, Record

MAX_MESSAGE = 16384  # bytes buffered per direction: logins are small, anything bigger is not one
PG_PROTOCOL_3 = 196608
PG_SSL_REQUEST = 80877103
PG_GSS_REQUEST = 80877104


class _Binary(LoginAnalyser):
    def __init__(self) -> None:
        super().__init__()
        self.bufs = [bytearray(), bytearray()]  # [server, client]

    def on_data(self, from_client: bool, data: bytes, ts: float) -> list[Record]:
        self.ts = ts
        buf = self.bufs[from_client]
        buf += data
        if len(buf) > MAX_MESSAGE:
            self.done = True
        while not self.done:
            msg = self.take(buf, from_client)
            if msg is None:
                break
            if from_client:
                self.client_msg(msg)
            else:
                self.server_msg(msg)
        out, self.out = self.out, []
        return out

    def take(self, buf: bytearray, from_client: bool) -> bytes | None:
        raise NotImplementedError

    def client_msg(self, msg: bytes) -> None:
        raise NotImplementedError

    def server_msg(self, msg: bytes) -> None:
        raise NotImplementedError


# --- LDAP ---------------------------------------------------------------------------------------------


def ber_header(data: bytes, pos: int) -> tuple[int, int, int] | None:
    """(tag, length, offset of the value) of the BER element at ``pos``; None when incomplete or bad."""
    if pos + 2 > len(data):
        return None
    tag = data[pos]
    first = data[pos + 1]
    if first < 0x80:
        return tag, first, pos + 2
    n = first & 0x7F
    if n == 0 or n > 4 or pos + 2 + n > len(data):
        return None
    return tag, int.from_bytes(data[pos + 2 : pos + 2 + n], "big"), pos + 2 + n


def ber_children(data: bytes) -> list[tuple[int, bytes]] | None:
    out = []
    pos = 0
    while pos < len(data):
        h = ber_header(data, pos)
        if h is None or h[2] + h[1] > len(data):
            return None
        out.append((h[0], data[h[2] : h[2] + h[1]]))
        pos = h[2] + h[1]
    return out


STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"


class LdapAnalyser(_Binary):
    service = "ldap"

    def take(self, buf: bytearray, from_client: bool) -> bytes | None:
        h = ber_header(bytes(buf[:6]), 0)
        if h is None:
            if len(buf) >= 6:
                self.done = True  # not BER: not LDAP
            return None
        tag, length, off = h
        if tag != 0x30:
            self.done = True
            return None
        if len(buf) < off + length:
            return None
        msg = bytes(buf[off : off + length])
        del buf[: off + length]
        return msg

    def _op(self, msg: bytes) -> tuple[int, bytes] | None:
        parts = ber_children(msg)
        if not parts or len(parts) < 2 or parts[0][0] != 0x02:
            return None
        return parts[1]

    def client_msg(self, msg: bytes) -> None:
        op = self._op(msg)
        if op is None:
            return
        tag, body = op
        if tag == 0x77 and STARTTLS_OID in body:  # ExtendedRequest: StartTLS
            self.done = True
        if tag != 0x60:  # BindRequest
            return
        self.recognised = True
        fields = ber_children(body)
        if not fields or len(fields) < 3 or fields[2][0] != 0x80:
            return  # SASL or malformed: no password in clear
        dn = fields[1][1].decode("utf-8", "replace")
        password = fields[2][1].decode("utf-8", "replace")
        if not dn or not password:
            return  # anonymous or unauthenticated bind
        self._attempt(dn, password)

    def server_msg(self, msg: bytes) -> None:
        op = self._op(msg)
        if op is None or op[0] != 0x61:  # BindResponse
            return
        fields = ber_children(op[1])
        if fields and fields[0][0] == 0x0A and fields[0][1]:
            code = int.from_bytes(fields[0][1], "big")
            if code == 0:
                self._verdict(True)
            elif code != 14:  # 14: SASL bind in progress
                self._verdict(False)


# --- PostgreSQL ---------------------------------------------------------------------------------------


class PostgresAnalyser(_Binary):
    service = "postgresql"

    def __init__(self) -> None:
        super().__init__()
        self.started = False  # the client's StartupMessage (untyped) has been read
        self.cleartext = False  # the server asked for a cleartext password
        self.ssl_asked = False

    def take(self, buf: bytearray, from_client: bool) -> bytes | None:
        if from_client and not self.started:
            if len(buf) < 8:
                return None
            length = struct.unpack_from("!I", buf)[0]
            if length < 8 or length > MAX_MESSAGE:
                self.done = True
                return None
        elif not from_client and self.ssl_asked:
            msg = bytes(buf[:1])
            del buf[:1]
            return msg if msg else None
        else:
            if len(buf) < 5:
                return None
            length = struct.unpack_from("!I", buf, 1)[0] + 1
            if length < 5 or length > MAX_MESSAGE:
                self.done = True
                return None
        if len(buf) < length:
            return None
        msg = bytes(buf[:length])
        del buf[:length]
        return msg

    def client_msg(self, msg: bytes) -> None:
        if not self.started:
            code = struct.unpack_from("!I", msg, 4)[0]
            if code in (PG_SSL_REQUEST, PG_GSS_REQUEST):
                self.ssl_asked = True
                return
            if code != PG_PROTOCOL_3:
                self.done = True
                return
            self.started = True
            words = msg[8:].split(b"\0")
            params = dict(zip(words[::2], words[1::2], strict=False))
            user = params.get(b"user")
            self.user = user.decode("utf-8", "replace") if user is not None else None
            self.recognised = True
            return
        if msg[:1] == b"p" and self.cleartext:
            self.cleartext = False
            self._attempt(self.user, msg[5:].split(b"\0", 1)[0].decode("utf-8", "replace"))

    def server_msg(self, msg: bytes) -> None:
        if self.ssl_asked:
            self.ssl_asked = False
            if msg == b"S" or msg == b"G":
                self.done = True  # encrypted from here on
            return
        kind = msg[:1]
        if kind == b"R" and len(msg) >= 9:
            code = struct.unpack_from("!I", msg, 5)[0]
            if code == 3:
                self.cleartext = True
            elif code == 0:
                self._verdict(True)
                self.done = True
            elif code in (5, 10, 7, 9):
                self.done = True  # MD5, SASL, GSS, SSPI: nothing in clear
        elif kind == b"E":
            self._verdict(False)
