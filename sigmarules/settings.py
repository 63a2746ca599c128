"""The ``detectors.sigma`` config section, validated with errors that name the key and its line.

Layout (all optional; the defaults are shown)::

    detectors:
      sigma:
        enabled: true
        builtin: true                  # our rule pack (sigmarules/rules)
        rules: [rules/sigmahq-network, my-rules.yml]   # more files or folders (relative to the config)
        pipelines: []                  # pySigma processing pipeline YAML files, run before our mapping
        fields: {}                     # more generic-name → record-field mappings, for every log
        strict_fields: true            # reject rules naming a field our records never carry
        lateness: 10s                  # how far out of order correlation events may arrive
        max_groups: 100000             # per correlation rule
        skip_resolvers: true           # ignore DNS records sent by a configured resolver
                                       # (detectors.dns_bypass.resolvers): its forwarded copy of a
                                       # client's lookup would raise the client's alert a second time
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wardwatch.sigmarules.ruleset import BUILTIN_RULES

from wardwatch.config import Config, declare_section, parse_duration, unknown_key_message

_KEYS = (
    "enabled",
    "builtin",
    "rules",
    "pipelines",
    "fields",
    "strict_fields",
    "lateness",
    "max_groups",
    "skip_resolvers",
)


@dataclass(frozen=True)
class SigmaSettings:
    enabled: bool = True
    paths: tuple[Path, ...] = (BUILTIN_RULES,)
    pipelines: tuple[Path, ...] = ()
    fields: tuple[tuple[str, str | tuple[str, ...]], ...] = ()
    strict_fields: bool = True
    lateness: float = 10.0
    max_groups: int = 100_000
    skip_resolvers: bool = True

    @property
    def field_map(self) -> dict[str, str | list[str]]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.fields}


def sigma_settings(config: Config | None) -> SigmaSettings:
    if config is None:
        return SigmaSettings()
    raw: dict[str, Any] = config.detectors.get("sigma") or {}
    kp = ("detectors", "sigma")
    for k in raw:
        if k not in _KEYS:
            raise config.error((*kp, k), unknown_key_message(k, _KEYS))

    def boolean(name: str, default: bool) -> bool:
        v = raw.get(name, default)
        if not isinstance(v, bool):
            raise config.error((*kp, name), f"expected true or false, got {v!r}")
        return v

    def paths(name: str) -> list[Path]:
        v = raw.get(name) or []
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list):
            raise config.error((*kp, name), "expected a list of files or folders")
        out = []
        for i, p in enumerate(v):
            if not isinstance(p, str) or not p.strip():
                raise config.error((*kp, name, i), f"expected a path, got {p!r}")
            q = Path(p).expanduser()
            q = q if q.is_absolute() else (config.path.parent / q).resolve()
            if not q.exists():
                raise config.error((*kp, name, i), f"no such file or folder: {q}")
            out.append(q)
        return out

    lateness_raw = raw.get("lateness", 10.0)
    lateness = parse_duration(lateness_raw)
    if lateness is None:
        raise config.error((*kp, "lateness"), f"expected a duration such as 10s, got {lateness_raw!r}")
    max_groups = raw.get("max_groups", 100_000)
    if isinstance(max_groups, bool) or not isinstance(max_groups, int) or max_groups < 1:
        raise config.error((*kp, "max_groups"), f"expected a positive integer, got {max_groups!r}")
    fields_raw = raw.get("fields") or {}
    if not isinstance(fields_raw, dict):
        raise config.error((*kp, "fields"), "expected a mapping of generic field → record field")
    fields: list[tuple[str, str | tuple[str, ...]]] = []
    for k, v in fields_raw.items():
        if isinstance(v, str):
            fields.append((str(k), v))
        elif isinstance(v, list) and v and all(isinstance(x, str) for x in v):
            fields.append((str(k), tuple(v)))
        else:
            raise config.error((*kp, "fields", k), f"expected a field name or a list of them, got {v!r}")
    builtin = boolean("builtin", True)
    return SigmaSettings(
        enabled=boolean("enabled", True),
        paths=(*((BUILTIN_RULES,) if builtin else ()), *paths("rules")),
        pipelines=tuple(paths("pipelines")),
        fields=tuple(fields),
        strict_fields=boolean("strict_fields", True),
        lateness=lateness,
        max_groups=max_groups,
        skip_resolvers=boolean("skip_resolvers", True),
    )


# the keys are checked by sigma_settings itself; declaring the section makes ``sigma`` a valid name
# under ``detectors`` and lets ``check_config`` run those checks before any capture is read
declare_section("detectors.sigma", check=sigma_settings)
