"""Log import: Zeek's conn/dns/ssl/http logs and Suricata's EVE JSON → the sensor's records.

``zeek`` and ``eve`` (pure parsers), ``follow`` (growing, rotated, compressed files read once, with
positions kept across restarts), ``inputs`` (the two inputs: poll, commit), ``config``
(``inputs.zeek``, ``inputs.eve``).
"""

from .config import EveSection, ZeekSection, eve_settings, zeek_settings
from .eve import EveParser
from .follow import Follower
from .inputs import EveInput, ZeekInput, external_alert
from .zeek import TsvState, json_record

__all__ = [
    "EveInput", "EveParser", "EveSection", "Follower", "TsvState", "ZeekInput", "ZeekSection",
    "eve_settings", "external_alert", "json_record", "zeek_settings",
]  # fmt: skip
