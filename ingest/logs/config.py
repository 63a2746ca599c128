"""The ``inputs.zeek`` and ``inputs.eve`` config sections: which logs to follow.

    inputs:
      zeek:
        dir: /opt/zeek/logs/current     # conn, dns, ssl and http logs (TSV or JSON, rotated, .gz)
      eve:
        path: /var/log/suricata/eve.json   # and its rotated siblings (eve.json.1, eve.json-….gz)
        poll_seconds: 1                # how often the files are looked at (each input has its own)

Read positions are kept under ``data_dir/inputs/`` (one JSON file per input).
"""

from __future__ import annotations

from dataclasses import dataclass

from wardwatch.config import Config, declare_section


@dataclass(frozen=True)
class ZeekSection:
    dir: str = ""
    poll_seconds: float = 1.0


@dataclass(frozen=True)
class EveSection:
    path: str = ""
    poll_seconds: float = 1.0


def zeek_settings(config: Config) -> ZeekSection | None:
    if config.raw_section("inputs.zeek") is None:
        return None
    sec: ZeekSection = config.section("inputs.zeek", ZeekSection)
    if not sec.dir:
        raise config.error(("inputs", "zeek", "dir"), "the folder of Zeek's logs is required")
    if sec.poll_seconds <= 0:
        raise config.error(("inputs", "zeek", "poll_seconds"), "must be more than 0")
    return sec


def eve_settings(config: Config) -> EveSection | None:
    if config.raw_section("inputs.eve") is None:
        return None
    sec: EveSection = config.section("inputs.eve", EveSection)
    if not sec.path:
        raise config.error(("inputs", "eve", "path"), "the path of Suricata's eve.json is required")
    if sec.poll_seconds <= 0:
        raise config.error(("inputs", "eve", "poll_seconds"), "must be more than 0")
    return sec


declare_section("inputs.zeek", ZeekSection, zeek_settings)
declare_section("inputs.eve", EveSection, eve_settings)
