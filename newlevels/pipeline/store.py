"""Where ML Metadata lives: a SQLite file, a MySQL/MariaDB or a PostgreSQL database.

A store is named by `--metadata` (a SQLite path, `mysql://user@host:port/db` or
`postgresql://user@host:port/db`) or by `--connection-config FILE` (a text-format
MLMD ConnectionConfig, for TLS options and the like). A password never rides in
a URL: it comes from `--metadata-password-file` or the environment variable
`PASSWORD_ENV`. Every password this process is given is remembered, so that
`redact` can take it out of anything written (the run's log, an error line).
"""

from __future__ import annotations

import dataclasses
import os
import urllib.parse
from collections.abc import Mapping

from google.protobuf import text_format
from ml_metadata.proto import metadata_store_pb2

from newlevels.pipeline.errors import ConfigError

ConnectionConfig = metadata_store_pb2.ConnectionConfig

#: the environment variable a MySQL/PostgreSQL password may come from.
PASSWORD_ENV = "NEWLEVELS_METADATA_PASSWORD"
DEFAULT_PORTS = {"mysql": 3306, "postgresql": 5432}
SCHEMES = {"mysql": "mysql", "postgresql": "postgresql", "postgres": "postgresql"}
URL_FORMS = "a SQLite path, mysql://user@host:port/db or postgresql://user@host:port/db"
REDACTED = "***"

_secrets: set[str] = set()


def remember_secret(secret: str) -> None:
    """Marks `secret` as text that `redact` removes (passwords of the stores in use)."""
    if secret:
        _secrets.add(secret)


def redact(text: str) -> str:
    """`text` with every remembered secret replaced by `REDACTED`."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


@dataclasses.dataclass(frozen=True)
class StoreConfig:
    """An MLMD store: its printable name and its ConnectionConfig.

    Attributes:
        label: the store as a user may read it (never holds the password).
        serialized: the ConnectionConfig, password included, as proto bytes
            (bytes keep the dataclass hashable and out of reprs).
    """

    label: str
    serialized: bytes = dataclasses.field(repr=False)

    @classmethod
    def of(cls, config: ConnectionConfig) -> StoreConfig:
        remember_secret(_password(config))
        return cls(describe(config), config.SerializeToString())

    def connection_config(self) -> ConnectionConfig:
        """A fresh copy of the ConnectionConfig (password included)."""
        return ConnectionConfig.FromString(self.serialized)

    @property
    def sqlite_path(self) -> str | None:
        """The SQLite file, or None for a database server."""
        config = self.connection_config()
        return config.sqlite.filename_uri if config.HasField("sqlite") else None

    @property
    def is_server(self) -> bool:
        return self.sqlite_path is None


def _password(config: ConnectionConfig) -> str:
    kind = config.WhichOneof("config")
    return getattr(config, kind).password if kind in ("mysql", "postgresql") else ""


def describe(config: ConnectionConfig) -> str:
    """A ConnectionConfig as a URL without its password (or the SQLite path)."""
    kind = config.WhichOneof("config")
    if kind == "sqlite":
        return config.sqlite.filename_uri
    if kind == "mysql":
        c = config.mysql
        where = f"{c.host}:{c.port}" if c.host else f"socket {c.socket}"
        return f"mysql://{c.user}@{where}/{c.database}"
    if kind == "postgresql":
        c = config.postgresql
        return f"postgresql://{c.user}@{c.host or c.hostaddr}:{c.port}/{c.dbname}"
    return kind or "an empty ConnectionConfig"


def sqlite_store(path: str) -> StoreConfig:
    """A SQLite store at `path`, created on first use."""
    config = ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = (
        metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    )
    return StoreConfig.of(config)


def parse_url(url: str) -> ConnectionConfig:
    """The ConnectionConfig a `--metadata` value names (without a password).

    Args:
        url: a SQLite path, `mysql://user@host[:port]/db` or
            `postgresql://user@host[:port]/db`.

    Raises:
        ConfigError: an unknown scheme, a missing part, or a password inside the URL
            (the message never repeats the URL's password).
    """
    if "://" not in url:
        return sqlite_store(os.path.abspath(url)).connection_config()
    parts = urllib.parse.urlsplit(url)
    if parts.password is not None:
        raise ConfigError(
            "--metadata: the URL holds a password; give it with --metadata-password-file "
            f"or the {PASSWORD_ENV} environment variable instead"
        )
    scheme = SCHEMES.get(parts.scheme)
    if scheme is None:
        raise ConfigError(f"--metadata: unsupported store {parts.scheme}://…: give {URL_FORMS}")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise ConfigError(f"--metadata {url}: the port is not a number") from None
    database = parts.path.lstrip("/")
    missing = [
        name
        for name, value in (("user", parts.username), ("host", parts.hostname), ("db", database))
        if not value
    ]
    if missing or parts.query or parts.fragment or "/" in database:
        problem = f"no {', '.join(missing)}" if missing else "unexpected parts"
        raise ConfigError(
            f"--metadata {url}: {problem}; write {scheme}://user@host:port/db "
            "(for other options use --connection-config FILE)"
        )
    config = ConnectionConfig()
    server = getattr(config, scheme)
    server.host, server.user = parts.hostname, parts.username
    if scheme == "mysql":
        server.port, server.database = port, database
    else:
        server.port, server.dbname = str(port), database
    return config


def read_connection_config(path: str) -> ConnectionConfig:
    """Reads a text-format ConnectionConfig.

    Raises:
        ConfigError: the file is unreadable, is not a ConnectionConfig or names no store.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            config = text_format.Parse(handle.read(), ConnectionConfig())
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"--connection-config {path}: cannot read it ({error})") from None
    except text_format.ParseError as error:
        # Only the position: the parser quotes the offending text, maybe a password.
        where = str(error).split(" ", 1)[0]
        raise ConfigError(
            f"--connection-config {path}: not a text-format ConnectionConfig (at {where})"
        ) from None
    if config.WhichOneof("config") is None:
        raise ConfigError(
            f"--connection-config {path}: names no store (sqlite, mysql or postgresql)"
        )
    return config


def read_password(path: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The password from `path` (its first line) or else from `PASSWORD_ENV`.

    Raises:
        ConfigError: the file is unreadable or empty (the message names the file only).
    """
    if path is None:
        return environ.get(PASSWORD_ENV) or None
    try:
        with open(path, encoding="utf-8") as handle:
            password = handle.readline().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise ConfigError(f"--metadata-password-file {path}: cannot read it ({reason})") from None
    if not password:
        raise ConfigError(f"--metadata-password-file {path}: the first line is empty")
    return password


def with_password(
    config: ConnectionConfig, password: str | None, explicit: bool, origin: str
) -> ConnectionConfig:
    """`config` with a server's empty password set to `password`.

    Args:
        config: the store.
        password: the password given (None: none).
        explicit: it came from --metadata-password-file (not from the environment,
            whose password is ignored where it does not apply).
        origin: the option that named the store, for messages.

    Raises:
        ConfigError: an explicit password for a SQLite store, or for a config that
            holds its own.
    """
    kind = config.WhichOneof("config")
    if password is None:
        return config
    if kind not in ("mysql", "postgresql"):
        if explicit:
            raise ConfigError(f"--metadata-password-file: {origin} is SQLite, it takes no password")
        return config
    server = getattr(config, kind)
    if server.password:
        if explicit:
            raise ConfigError(
                f"{origin} holds a password and --metadata-password-file gives another: keep one"
            )
        return config
    server.password = password
    return config


def resolve(
    metadata: str | None,
    connection_config: str | None,
    password_file: str | None,
    default: StoreConfig,
    environ: Mapping[str, str] = os.environ,
) -> StoreConfig:
    """The store the metadata options name, else `default`.

    Args:
        metadata: `--metadata` (a SQLite path or a server URL).
        connection_config: `--connection-config` (a text-format ConnectionConfig file).
        password_file: `--metadata-password-file`.
        default: the store when neither names one.
        environ: where `PASSWORD_ENV` is read.

    Raises:
        ConfigError: as `parse_url`, `read_connection_config`, `read_password` and
            `with_password`.
    """
    password = read_password(password_file, environ)
    explicit = password_file is not None
    if connection_config is not None:
        config = read_connection_config(connection_config)
        origin = f"--connection-config {connection_config}"
    elif metadata is not None:
        config, origin = parse_url(metadata), "--metadata"
    elif explicit:
        raise ConfigError("--metadata-password-file needs --metadata URL or --connection-config")
    else:
        return default
    return StoreConfig.of(with_password(config, password, explicit, origin))
