"""The whole-config check the commands run before reading any capture.

Each room declares its config section to the ground's reader when its settings module is imported;
the CLI is the one place that knows every room, so it imports them all here and then validates the
whole file at once (unknown keys at every level, values, the rooms' own checks).
"""

from __future__ import annotations

from wardwatch.config import Config


def check_sections(config: Config) -> list[str]:
    """Validate every room's section of ``config``; return the warnings to print (Vietnamese, then
    English). Raises ``ConfigError``."""
    import wardwatch.bus.settings  # noqa: F401  (each import declares its room's sections)
    import wardwatch.detectors.behaviour.options  # noqa: F401
    import wardwatch.detectors.settings  # noqa: F401
    import wardwatch.ingest.logs.config  # noqa: F401
    import wardwatch.ingest.netflow.config  # noqa: F401
    import wardwatch.ingest.sensor  # noqa: F401
    import wardwatch.notify.settings  # noqa: F401
    import wardwatch.report.settings  # noqa: F401
    import wardwatch.service.settings  # noqa: F401
    import wardwatch.sigmarules.settings  # noqa: F401
    import wardwatch.store.settings  # noqa: F401

    from wardwatch.config import check_config

    return check_config(config)
