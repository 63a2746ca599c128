"""The one base of every wardwatch error (as dnspython's ``DNSException``).

The CLI catches ``WardwatchError`` once and prints its message, never a traceback, exiting with the
error's ``exit_code``: 2 for a usage or configuration problem the operator fixes by changing the command
or the config (``UsageError``), 1 for a failure at run time (a store down, a broken capture). Each
error also keeps the built-in base it had before (``ValueError``, ``RuntimeError``…), so existing
``except ValueError`` code keeps working.
"""

from __future__ import annotations


class WardwatchError(Exception):
    """A problem wardwatch reports to its user in words; ``exit_code`` 1 (a runtime failure)."""

    exit_code = 1


class UsageError(WardwatchError):
    """The command line or the config asks for something wrong or impossible; ``exit_code`` 2."""

    exit_code = 2
