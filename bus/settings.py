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
The section is declared to the ground's config reader (``KafkaSection``), which checks its keys and
types; this module resolves secrets, codecs and defaults that depend on other keys.
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

from wardwatch.config import Config, ConfigError, Reader, declare_section, setting

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN")
COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")
# the module kafka-python imports for each codec, and the package that provides it
_CODEC_MODULES = {
    "snappy": ("snappy", "python-snappy"),
    "lz4": ("lz4", "lz4"),
    "zstd": ("zstandard", "zstandard"),
}


@dataclass(frozen=True)
class SecuritySection:
    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    keyfile_password_env: str | None = None
    keyfile_password_file: str | None = None
    check_hostname: bool = True
    # refused with a clear message: secrets come from env or files only
    password: Any = setting(None, kind="raw")
    keyfile_password: Any = setting(None, kind="raw")


@dataclass(frozen=True)
class SpoolSection:
    dir: str = "spool"
    max_size: int = setting(1 << 30, kind="size", lo=1)


@dataclass(frozen=True)
class WriterSection:
    max_records: int = setting(50_000, lo=1, hi=10_000_000)
    max_wait: float = setting(0.5, kind="duration")
    dedup_window: int = setting(10_000, lo=0, hi=10_000_000)
    store_retry_max: float = setting(30.0, kind="duration")
    max_message_bytes: int | None = setting(None, kind="size", lo=1)


@dataclass(frozen=True)
class KafkaSection:
    bootstrap: str
    topic_prefix: str = "wardwatch"
    partitions: int = setting(3, lo=1, hi=1024)
    replication: int = setting(1, lo=1, hi=16)
    min_insync_replicas: int | None = setting(None, lo=1, hi=16)  # default: 2 when replication ≥ 3
    create_topics: bool = True
    compression: str = setting("lz4", choices=COMPRESSIONS)
    linger: float = setting(0.02, kind="duration")
    batch_records: int = setting(500, lo=1, hi=100_000)
    max_message_bytes: int = setting(1 << 20, kind="size", lo=1)
    sensor: str | None = None
    spool: SpoolSection = setting(default_factory=SpoolSection)
    spool_after: float = setting(5.0, kind="duration")
    group: str = "wardwatch-writer"
    writer: WriterSection = setting(default_factory=WriterSection)
    security: SecuritySection = setting(default_factory=SecuritySection)


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
    r = config.reader() if config is not None else Reader(base / "config", {})

    def err(kp: tuple[str | int, ...], msg: str) -> ConfigError:
        return r.error(("kafka", *kp), msg)

    def path(v: str | None) -> Path | None:
        if v is None:
            return None
        p = Path(v).expanduser()
        return p if p.is_absolute() else (base / p).resolve()

    def secret(given: dict[str, Any], name: str, env: str | None, file_name: str | None) -> Secret | None:
        if name in given:
            raise err(("security", name), f"secrets are not accepted inline; use {name}_env or {name}_file")
        file = path(file_name)
        if env and file:
            raise err(("security",), f"give only one of {name}_env and {name}_file")
        if env:
            if env not in os.environ:
                raise err(("security", f"{name}_env"), f"environment variable {env} is not set")
            return Secret(os.environ[env])
        if file:
            try:
                return Secret(file.read_text(encoding="utf-8").rstrip("\r\n"))
            except OSError as e:
                raise err(("security", f"{name}_file"), f"cannot read {file}: {e.strerror or e}") from None
        return None

    k: KafkaSection = r.dataclass(raw, ("kafka",), KafkaSection)
    bootstrap = k.bootstrap
    for hp in bootstrap.split(","):
        host, _, port = hp.strip().rpartition(":")
        if not host or not port.isdigit():
            raise err(("bootstrap",), f"expected host:port[,host:port…], got {bootstrap!r}")
    codec = _CODEC_MODULES.get(k.compression)
    if codec is not None and importlib.util.find_spec(codec[0]) is None:
        raise err(("compression",), f"compression {k.compression!r} needs the Python package {codec[1]!r}")

    s = k.security
    given = raw.get("security") or {}
    protocol = s.protocol.upper()
    if protocol not in PROTOCOLS:
        raise err(("security", "protocol"), f"unknown protocol {protocol!r} (expected one of {PROTOCOLS})")
    mechanism = s.sasl_mechanism or ("SCRAM-SHA-512" if "SASL" in protocol else None)
    if mechanism is not None and mechanism.upper() not in MECHANISMS:
        raise err(
            ("security", "sasl_mechanism"), f"unknown mechanism {mechanism!r} (expected one of {MECHANISMS})"
        )
    password = secret(given, "password", s.password_env, s.password_file)
    if protocol.startswith("SASL") and (not s.username or password is None):
        raise err(("security",), f"{protocol} needs username and password_env or password_file")
    security = Security(
        protocol=protocol,
        sasl_mechanism=mechanism.upper() if mechanism else None,
        username=s.username,
        password=password,
        cafile=path(s.cafile),
        certfile=path(s.certfile),
        keyfile=path(s.keyfile),
        keyfile_password=secret(given, "keyfile_password", s.keyfile_password_env, s.keyfile_password_file),
        check_hostname=s.check_hostname,
    )

    spool_dir = Path(k.spool.dir).expanduser()
    if not spool_dir.is_absolute():
        spool_dir = (data_dir / spool_dir).resolve()
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,200}", k.topic_prefix):
        raise err(("topic_prefix",), f"{k.topic_prefix!r} is not a valid Kafka topic name part")
    min_isr = k.min_insync_replicas or (2 if k.replication >= 3 else 1)
    if min_isr > k.replication:
        raise err(("min_insync_replicas",), f"expected at most replication ({k.replication}), got {min_isr}")
    return BusSettings(
        bootstrap=",".join(hp.strip() for hp in bootstrap.split(",")),
        topic_prefix=k.topic_prefix,
        partitions=k.partitions,
        replication=k.replication,
        min_insync_replicas=min_isr,
        create_topics=k.create_topics,
        compression=k.compression,
        linger=k.linger,
        batch_records=k.batch_records,
        max_message_bytes=k.max_message_bytes,
        sensor=k.sensor or socket.gethostname(),
        spool_dir=spool_dir,
        spool_max_bytes=k.spool.max_size,
        spool_after=k.spool_after,
        group=k.group,
        writer=WriterSettings(
            max_records=k.writer.max_records,
            max_wait=k.writer.max_wait,
            dedup_window=k.writer.dedup_window,
            store_retry_max=k.writer.store_retry_max,
            max_message_bytes=k.writer.max_message_bytes or k.max_message_bytes,
        ),
        security=security,
    )


declare_section("kafka", KafkaSection, bus_settings)


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
