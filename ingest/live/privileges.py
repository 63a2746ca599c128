"""Giving up privileges once the capture sockets are open.

An open AF_PACKET socket keeps working after its process loses CAP_NET_RAW: the capability is checked
when the socket is created, not when it is read. So the sensor opens its sockets first, then, running
as root, becomes the configured unprivileged user (``sensor.user``); ``setuid`` away from root clears
every capability. Running as another user with capabilities granted (systemd's
``AmbientCapabilities=CAP_NET_RAW``), it clears them instead, so that a compromised decoder cannot open
new sockets either.
"""

from __future__ import annotations

import ctypes
import os
import pwd

from wardwatch.errors import UsageError
from wardwatch.i18n import text

from .capture import CaptureError

_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def drop_privileges(user: str | None) -> str:
    """Become ``user`` (when root) or clear capabilities (when not); say what was done."""
    if os.geteuid() == 0:
        if not user:
            return "root"
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            raise UsageError("\n".join(text("live.no_user", user=user))) from None
        try:
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
        except OSError as e:
            raise CaptureError("\n".join(text("live.setuid_failed", user=user, error=str(e)))) from e
        if os.geteuid() == 0 or os.getuid() == 0:  # never carry on as root believing otherwise
            raise CaptureError("\n".join(text("live.setuid_failed", user=user, error="still root")))
        return user
    _clear_capabilities()
    return pwd.getpwuid(os.geteuid()).pw_name


def _clear_capabilities() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable × 2 words: all empty
    libc.capset(header, data)  # failure leaves what the process had; nothing more we can do
