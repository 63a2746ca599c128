"""The ``kafka:`` config section, validated into ``BusSettings`` (errors name the key and the line).

::

    kafka:
      bootstrap: "10.0.0.5:9092,10.0.0.6:9092"
      topic_prefix: wardwatch            # topics <prefix>.dns … <prefix>.alerts, <prefix>.deadletter
      partitions: 6                      # used when a topic is created (existing topics are left alone)
      replication: 3
      min_insync_replicas: 2             # default: 2 when replication ≥ 3, else 1
      create_topics: true
      compression: lz4                   # lz4 | zstd | gzip | none (snappy when python-snappy is installed)
      linger: 20ms
      batch_records: 500                 # records per message (an NDJSON micro-batch)
      max_message_bytes: 1MiB
      sensor: sensor-1                   # stamped into each message's headers (default: the host name)
      spool: {dir: spool, max_size: 1GiB}    # relative to data_dir
      spool_after: 5s                    # spool new messages once a send is unacknowledged this long
      group: wardwatch-writer            # the writer's consumer group
      writer: {max_records: 50000, max_wait: 500ms, dedup_window: 10000, store_retry_max: 30s}
      security:
        protocol: SASL_SSL               # PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
        sasl_mechanism: SCRAM-SHA-512    # SCRAM-SHA-256 | SCRAM-SHA-512 | PLAIN
        username: wardwatch
        password_env: WARDWATCH_KAFKA_PASSWORD    # or password_file: /run/secrets/kafka (never inline)
        cafile: /etc/wardwatch/ca.pem
        certfile: …  keyfile: …  keyfile_password_env: …
        check_hostname: true

Secrets are only ever read from an environment variable or a file, and are kept out of ``repr``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wardwatch.config import Config, ConfigError

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h)?")
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?", re.IGNORECASE)
_SIZES = {"b": 1, "kb": 1000, "kib": 1024, "mb": 10**6, "mib": 1 << 20, "gb": 10**9, "gib": 1 << 30}
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN")
COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")
# the module kafka-python imports for each codec, and the package that provides it
_CODEC_MODULES = {
    "snappy": ("snappy", "python-snappy"),
    "lz4": ("lz4", "lz4"),
    "zstd": ("zstandard", "zstandard"),
}
_TOP_KEYS = (
    "bootstrap",
    "topic_prefix",
    "partitions",
    "replication",
    "min_insync_replicas",
    "create_topics",
    "compression",
    "linger",
    "batch_records",
    "max_message_bytes",
    "sensor",
    "spool",
    "spool_after",
    "group",
    "writer",
    "security",
)
_SECURITY_KEYS = (
    "protocol",
    "sasl_mechanism",
    "username",
    "password_env",
    "password_file",
    "cafile",
    "certfile",
    "keyfile",
    "keyfile_password_env",
    "keyfile_password_file",
    "check_hostname",
    "password",  # refused with a clear message: secrets come from env or files only
    "keyfile_password",
)


class Secret:
    """A string that never shows in logs, reprs or tracebacks' locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class Security:
    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: Secret | None = None
    cafile: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    keyfile_password: Secret | None = None
    check_hostname: bool = True

    def client_options(self) -> dict[str, Any]:
        """kafka-python keyword arguments for this security setup."""
        out: dict[str, Any] = {"security_protocol": self.protocol}
        if self.protocol.startswith("SASL"):
            out["sasl_mechanism"] = self.sasl_mechanism
            out["sasl_plain_username"] = self.username
            out["sasl_plain_password"] = self.password.reveal() if self.password else None
        if self.protocol.endswith("SSL"):
            out["ssl_check_hostname"] = self.check_hostname
            for key, value in (("ssl_cafile", self.cafile), ("ssl_certfile", self.certfile)):
                if value is not None:
                    out[key] = str(value)
            if self.keyfile is not None:
                out["ssl_keyfile"] = str(self.keyfile)
            if self.keyfile_password is not None:
                out["ssl_password"] = self.keyfile_password.reveal()
        return out


@dataclass(frozen=True)
class WriterSettings:
    max_records: int = 50_000  # records per insert cycle
    max_wait: float = 0.5  # seconds to wait for a fuller cycle
    dedup_window: int = 10_000  # messages remembered per partition (see docs/BUS.md)
    store_retry_max: float = 30.0  # back-off ceiling while the store is down
    max_message_bytes: int | None = None  # larger messages go to the dead-letter topic


@dataclass(frozen=True)
class BusSettings:
    bootstrap: str
    topic_prefix: str = "wardwatch"
    partitions: int = 3
    replication: int = 1
    min_insync_replicas: int = 1
    create_topics: bool = True
    compression: str = "lz4"
    linger: float = 0.02
    batch_records: int = 500
    max_message_bytes: int = 1 << 20
    sensor: str = field(default_factory=socket.gethostname)
    spool_dir: Path = Path("var/spool")
    spool_max_bytes: int = 1 << 30
    spool_after: float = 5.0  # a send unacknowledged this long means the broker is away
    group: str = "wardwatch-writer"
    writer: WriterSettings = WriterSettings()
    security: Security = Security()

    def client_options(self) -> dict[str, Any]:
        """Options every kafka-python client of this bus takes (addresses and security)."""
        return {"bootstrap_servers": self.bootstrap.split(","), **self.security.client_options()}


def _err(config: Config | None, path: Path | None, kp: tuple[str | int, ...], msg: str) -> ConfigError:
    if config is not None:
        return config.error(kp, msg)
    return ConfigError(f"{path or 'config'}: {'.'.join(map(str, kp))}: {msg}")


def bus_settings(config: Config) -> BusSettings | None:
    """The bus settings of ``config``, or ``None`` when it has no ``kafka:`` section (in-process bus)."""
    if config.kafka is None:
        return None
    raw = {"bootstrap": config.kafka.bootstrap, **config.kafka.options}
    store = config.extra.get("store")
    if "sensor" not in raw and isinstance(store, dict) and store.get("sensor"):
        raw["sensor"] = store["sensor"]  # the same name the embedded store would stamp
    return parse_bus_settings(
        raw,
        base=config.path.parent,
        data_dir=config.data_dir,
        config=config,
    )


def parse_bus_settings(
    raw: dict[str, Any], base: Path, data_dir: Path, config: Config | None = None
) -> BusSettings:
    """Validate a raw ``kafka:`` mapping (relative paths resolve from ``base``, the spool from ``data_dir``)."""

    def err(kp: tuple[str | int, ...], msg: str) -> ConfigError:
        return _err(config, None, ("kafka", *kp), msg)

    def integer(d: dict[str, Any], key: str, default: int, lo: int, hi: int, kp: tuple[str, ...] = ()) -> int:
        v = d.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise err((*kp, key), f"expected an integer from {lo} to {hi}, got {v!r}")
        return v

    def duration(d: dict[str, Any], key: str, default: float, kp: tuple[str, ...] = ()) -> float:
        v = d.get(key, default)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0:
            return float(v)
        m = _DURATION_RE.fullmatch(v.strip()) if isinstance(v, str) else None
        if m is None:
            raise err((*kp, key), f"expected a duration such as 20ms or 5s, got {v!r}")
        return float(m.group(1)) * _SECONDS[m.group(2) or "s"]

    def size(d: dict[str, Any], key: str, default: int, kp: tuple[str, ...] = ()) -> int:
        v = d.get(key, default)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
        m = _SIZE_RE.fullmatch(v.strip()) if isinstance(v, str) else None
        if m is None:
            raise err((*kp, key), f"expected a size such as 1MiB or 512KB, got {v!r}")
        return int(float(m.group(1)) * _SIZES[(m.group(2) or "b").lower()])

    def string(d: dict[str, Any], key: str, default: str | None, kp: tuple[str, ...] = ()) -> str | None:
        v = d.get(key, default)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (str, int)) or not str(v).strip():
            raise err((*kp, key), f"expected a non-empty string, got {v!r}")
        return str(v).strip()

    def mapping(v: Any, kp: tuple[str, ...], known: tuple[str, ...]) -> dict[str, Any]:
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise err(kp, "expected a mapping")
        for k in v:
            if k not in known:
                raise err((*kp, k), f"unknown key (expected one of {', '.join(known)})")
        return v

    def path(v: str | None) -> Path | None:
        if v is None:
            return None
        p = Path(v).expanduser()
        return p if p.is_absolute() else (base / p).resolve()

    def secret(d: dict[str, Any], name: str, kp: tuple[str, ...]) -> Secret | None:
        if name in d:
            raise err((*kp, name), f"secrets are not accepted inline; use {name}_env or {name}_file")
        env = string(d, f"{name}_env", None, kp)
        file = path(string(d, f"{name}_file", None, kp))
        if env and file:
            raise err(kp, f"give only one of {name}_env and {name}_file")
        if env:
            if env not in os.environ:
                raise err((*kp, f"{name}_env"), f"environment variable {env} is not set")
            return Secret(os.environ[env])
        if file:
            try:
                return Secret(file.read_text(encoding="utf-8").rstrip("\r\n"))
            except OSError as e:
                raise err((*kp, f"{name}_file"), f"cannot read {file}: {e.strerror or e}") from None
        return None

    d = mapping(raw, (), _TOP_KEYS)
    bootstrap = string(d, "bootstrap", None)
    if not bootstrap:
        raise err(("bootstrap",), "missing key 'bootstrap'")
    for hp in bootstrap.split(","):
        host, _, port = hp.strip().rpartition(":")
        if not host or not port.isdigit():
            raise err(("bootstrap",), f"expected host:port[,host:port…], got {bootstrap!r}")
    replication = integer(d, "replication", 1, 1, 16)
    compression = string(d, "compression", "lz4") or "lz4"
    if compression not in COMPRESSIONS:
        raise err(("compression",), f"unknown compression {compression!r} (expected one of {COMPRESSIONS})")
    codec = _CODEC_MODULES.get(compression)
    if codec is not None and importlib.util.find_spec(codec[0]) is None:
        raise err(("compression",), f"compression {compression!r} needs the Python package {codec[1]!r}")

    s = mapping(d.get("security"), ("security",), _SECURITY_KEYS)
    protocol = (string(s, "protocol", "PLAINTEXT", ("security",)) or "PLAINTEXT").upper()
    if protocol not in PROTOCOLS:
        raise err(("security", "protocol"), f"unknown protocol {protocol!r} (expected one of {PROTOCOLS})")
    mechanism = string(s, "sasl_mechanism", "SCRAM-SHA-512" if "SASL" in protocol else None, ("security",))
    if mechanism is not None and mechanism.upper() not in MECHANISMS:
        raise err(
            ("security", "sasl_mechanism"), f"unknown mechanism {mechanism!r} (expected one of {MECHANISMS})"
        )
    password = secret(s, "password", ("security",))
    username = string(s, "username", None, ("security",))
    if protocol.startswith("SASL") and (not username or password is None):
        raise err(("security",), f"{protocol} needs username and password_env or password_file")
    check_hostname = s.get("check_hostname", True)
    if not isinstance(check_hostname, bool):
        raise err(("security", "check_hostname"), "expected true or false")
    security = Security(
        protocol=protocol,
        sasl_mechanism=mechanism.upper() if mechanism else None,
        username=username,
        password=password,
        cafile=path(string(s, "cafile", None, ("security",))),
        certfile=path(string(s, "certfile", None, ("security",))),
        keyfile=path(string(s, "keyfile", None, ("security",))),
        keyfile_password=secret(s, "keyfile_password", ("security",)),
        check_hostname=check_hostname,
    )

    spool = mapping(d.get("spool"), ("spool",), ("dir", "max_size"))
    spool_dir = Path(string(spool, "dir", "spool", ("spool",)) or "spool").expanduser()
    if not spool_dir.is_absolute():
        spool_dir = (data_dir / spool_dir).resolve()
    w = mapping(
        d.get("writer"),
        ("writer",),
        ("max_records", "max_wait", "dedup_window", "store_retry_max", "max_message_bytes"),
    )
    max_message_bytes = size(d, "max_message_bytes", 1 << 20)
    create = d.get("create_topics", True)
    if not isinstance(create, bool):
        raise err(("create_topics",), "expected true or false")
    prefix = string(d, "topic_prefix", "wardwatch") or "wardwatch"
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,200}", prefix):
        raise err(("topic_prefix",), f"{prefix!r} is not a valid Kafka topic name part")
    return BusSettings(
        bootstrap=",".join(hp.strip() for hp in bootstrap.split(",")),
        topic_prefix=prefix,
        partitions=integer(d, "partitions", 3, 1, 1024),
        replication=replication,
        min_insync_replicas=integer(d, "min_insync_replicas", 2 if replication >= 3 else 1, 1, replication),
        create_topics=create,
        compression=compression,
        linger=duration(d, "linger", 0.02),
        batch_records=integer(d, "batch_records", 500, 1, 100_000),
        max_message_bytes=max_message_bytes,
        sensor=string(d, "sensor", None) or socket.gethostname(),
        spool_dir=spool_dir,
        spool_max_bytes=size(spool, "max_size", 1 << 30, ("spool",)),
        spool_after=duration(d, "spool_after", 5.0),
        group=string(d, "group", "wardwatch-writer") or "wardwatch-writer",
        writer=WriterSettings(
            max_records=integer(w, "max_records", 50_000, 1, 10_000_000, ("writer",)),
            max_wait=duration(w, "max_wait", 0.5, ("writer",)),
            dedup_window=integer(w, "dedup_window", 10_000, 0, 10_000_000, ("writer",)),
            store_retry_max=duration(w, "store_retry_max", 30.0, ("writer",)),
            max_message_bytes=size(w, "max_message_bytes", max_message_bytes, ("writer",)),
        ),
        security=security,
    )


class _Redact(logging.Filter):
    """Masks secret values in log records (kafka-python logs its whole config at DEBUG level)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            msg = record.getMessage()
            if any(s in msg for s in self.secrets):
                for s in self.secrets:
                    msg = msg.replace(s, "***")
                record.msg, record.args = msg, ()
        return True


_REDACT = _Redact()


def redact_in_logs(settings: BusSettings) -> None:
    """Keep this bus's secrets out of every log handler (the root's, present and future ones that
    are added through it)."""
    sec = settings.security
    _REDACT.secrets.update(
        s.reveal() for s in (sec.password, sec.keyfile_password) if s is not None and s.reveal()
    )
    if not _REDACT.secrets:
        return
    root = logging.getLogger()
    for handler in root.handlers:
        if _REDACT not in handler.filters:
            handler.addFilter(_REDACT)
    for name in ("kafka", "wardwatch"):
        lg = logging.getLogger(name)
        if _REDACT not in lg.filters:
            lg.addFilter(_REDACT)


class _AuthWatch(logging.Handler):
    """Notices kafka-python's authentication failures, which it reports only in its log (the caller
    just sees a bootstrap timeout), so that a wrong password stops a writer instead of retrying."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.failed: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if "AuthenticationFailed" in msg or "SaslAuthentication" in msg and "failed" in msg.lower():
            self.failed = "authentication failed (wrong user or password?)"
        elif "SSLCertVerificationError" in msg or "CERTIFICATE_VERIFY_FAILED" in msg:
            self.failed = "TLS certificate verification failed"


AUTH_WATCH = _AuthWatch()
logging.getLogger("kafka").addHandler(AUTH_WATCH)


def quiet_kafka_logs() -> None:
    """kafka-python logs every failed reconnect as an error; our own code reports outages once."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _QuietKafka) for f in handler.filters):
            handler.addFilter(_QuietKafka())


class _QuietKafka(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith("kafka") or record.levelno >= logging.CRITICAL
