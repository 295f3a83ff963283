"""The `vidvault record` configuration: a TOML file with one ``[[camera]]``
table per camera.

    store = "/var/lib/vidvault/store"       # or --store
    key_file = "/etc/vidvault/master.key"   # else $VIDVAULT_KEY
    status_file = "/run/vidvault/status.json"
    status_interval = 5                     # seconds between status file writes
    picture_check_every = 30                # seconds between picture checks (0: none)

    [[camera]]
    id = "34020000001320000001"
    url = "rtsp://admin@192.0.2.10:554/Streaming/Channels/101"
    password_env = "GATE_PASSWORD"          # or password_file = "/etc/vidvault/gate.pw"
    labels = { area = "gate" }
    retention = "key-site"
    transport = "auto"                      # tcp | udp | auto

A password given by reference (``password_env``, ``password_file``) is put
into the URL in memory only; it is never written back anywhere. A password
file must not be readable by every user of the machine. Every mistake is
reported with the table and key it is in and what to do, before any camera
is touched.
"""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote, urlsplit, urlunsplit

from ..errors import InvalidArgumentError
from ..ingestion import is_live
from ..media.transport import TRANSPORTS
from ..media.url_redaction import redact_url, url_password

TOP_KEYS = ("store", "key_file", "status_file", "status_interval", "picture_check_every", "camera")
CAMERA_KEYS = ("id", "url", "password_env", "password_file", "labels", "retention", "transport")


class ConfigError(InvalidArgumentError):
    """The record configuration is wrong: the message names the file, the
    table and the key, and what to do."""


@dataclass(frozen=True)
class CameraConfig:
    """One camera to record. ``url`` holds the password when there is one:
    show :attr:`shown_url` instead, always."""

    id: str
    url: str = field(repr=False)
    labels: Mapping[str, str] = field(default_factory=dict)
    retention: str | None = None
    transport: str = "auto"

    @property
    def shown_url(self) -> str:
        return redact_url(self.url)

    def __repr__(self) -> str:
        return (f"CameraConfig(id={self.id!r}, url={self.shown_url!r}, labels={dict(self.labels)!r}, "
                f"retention={self.retention!r}, transport={self.transport!r})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CameraConfig):
            return NotImplemented
        return (self.id, self.url, dict(self.labels), self.retention, self.transport) == \
            (other.id, other.url, dict(other.labels), other.retention, other.transport)

    def __hash__(self) -> int:
        return hash((self.id, self.url))


@dataclass(frozen=True)
class RecordConfig:
    cameras: tuple[CameraConfig, ...]
    store: Path | None = None
    key_file: Path | None = None
    status_file: Path | None = None
    status_interval: float = 5.0
    #: Seconds between checks of each camera's new pictures; None: no checks.
    picture_check_every: float | None = 30.0
    source: str = "<config>"


def load_config(path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None) -> RecordConfig:
    """Reads and checks a record configuration file (see the module text)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file; give the path of the record configuration (TOML)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot be read ({e}); it must be a UTF-8 TOML file") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}; fix the line it names") from None
    return parse_config(data, source=str(path), base=path.parent,
                        env=os.environ if env is None else env, world_readable=_world_readable(path))


def parse_config(data: Mapping[str, Any], *, source: str = "<config>", base: Path | None = None,
                 env: Mapping[str, str] | None = None, world_readable: bool = False) -> RecordConfig:
    env = os.environ if env is None else env
    base = base or Path.cwd()
    _no_unknown_keys(data, TOP_KEYS, f"{source}: top level")
    tables = data.get("camera", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{source}: 'camera' must be a list of [[camera]] tables, one per camera")
    if not tables:
        raise ConfigError(f"{source}: no [[camera]] table; add one per camera, each with an id and a url")
    cameras: list[CameraConfig] = []
    seen: dict[str, int] = {}
    for n, table in enumerate(tables, 1):
        cam = _camera(table, f"{source}: [[camera]] #{n}" + (f" (id {table['id']!r})" if isinstance(
            table.get("id"), str) else ""), base, env)
        if cam.id in seen:
            raise ConfigError(f"{source}: [[camera]] #{n}: id {cam.id!r} is already the id of [[camera]] "
                              f"#{seen[cam.id]}; every camera needs its own id")
        seen[cam.id] = n
        if world_readable and url_password(cam.url) and "password_env" not in table and \
                "password_file" not in table:
            print(f"vidvault: warning: {source} holds the password of camera {cam.id!r} and every user of "
                  f"this machine can read it: chmod 600 {source}, or move the password to password_file",
                  file=sys.stderr)
        cameras.append(cam)
    interval = data.get("status_interval", 5.0)
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0.1 <= interval <= 3600:
        raise ConfigError(f"{source}: status_interval must be a number of seconds from 0.1 to 3600, "
                          f"got {interval!r}")
    every = data.get("picture_check_every", 30.0)
    if isinstance(every, bool) or not isinstance(every, (int, float)) or not (every == 0 or 1 <= every <= 3600):
        raise ConfigError(f"{source}: picture_check_every must be a number of seconds from 1 to 3600, or 0 for "
                          f"no picture checks, got {every!r}")
    return RecordConfig(
        cameras=tuple(cameras),
        store=_path(data, "store", source, base),
        key_file=_path(data, "key_file", source, base),
        status_file=_path(data, "status_file", source, base),
        status_interval=float(interval),
        picture_check_every=float(every) or None,
        source=source,
    )


def camera_from_table(table: Mapping[str, Any], *, env: Mapping[str, str] | None = None,
                      base: Path | None = None) -> CameraConfig:
    """One camera from a mapping with the keys of a ``[[camera]]`` table
    (for services that build the list themselves)."""
    where = f"camera {table.get('id')!r}" if isinstance(table.get("id"), str) else "camera"
    return _camera(table, where, base or Path.cwd(), os.environ if env is None else env)


def _camera(table: Mapping[str, Any], where: str, base: Path, env: Mapping[str, str]) -> CameraConfig:
    _no_unknown_keys(table, CAMERA_KEYS, where)
    camera_id = table.get("id")
    if not isinstance(camera_id, str) or not camera_id.strip():
        raise ConfigError(f"{where}: 'id' is missing or empty; give the camera's id, e.g. its 20-digit "
                          "GB/T 28181 device id")
    if camera_id != camera_id.strip() or any(not c.isprintable() for c in camera_id):
        raise ConfigError(f"{where}: id {camera_id!r} has whitespace at an end or an unprintable character; "
                          "write the id alone")
    url = table.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigError(f"{where}: 'url' is missing; give the camera's stream, e.g. rtsp://user@host/path")
    if not is_live(url):
        raise ConfigError(f"{where}: url {redact_url(url)!r} is not a stream URL (rtsp://...); "
                          "`vidvault ingest` stores files")
    url = _with_password(url, table, where, base, env)
    labels = table.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise ConfigError(f"{where}: 'labels' must be a table of text values, e.g. labels = {{ area = \"gate\" }}")
    retention = table.get("retention")
    if retention is not None and (not isinstance(retention, str) or not retention):
        raise ConfigError(f"{where}: 'retention' must be the name of a retention class (e.g. \"key-site\"); "
                          "`vidvault retention-classes STORE` lists them")
    transport = table.get("transport", "auto")
    if transport not in TRANSPORTS:
        raise ConfigError(f"{where}: transport {transport!r} is not one of {', '.join(TRANSPORTS)}")
    return CameraConfig(camera_id, url, dict(labels), retention, transport)


def _with_password(url: str, table: Mapping[str, Any], where: str, base: Path, env: Mapping[str, str]) -> str:
    given = [k for k in ("password_env", "password_file") if k in table]
    if not given:
        return url
    if len(given) > 1:
        raise ConfigError(f"{where}: both password_env and password_file are given; keep one")
    if url_password(url) is not None:
        raise ConfigError(f"{where}: the url holds a password and {given[0]} gives another; keep one "
                          "(remove the password from the url)")
    parts = urlsplit(url)
    if not parts.username:
        raise ConfigError(f"{where}: {given[0]} needs the user name in the url: rtsp://USER@host/...")
    key = given[0]
    value = table[key]
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: {key} must be a non-empty string")
    if key == "password_env":
        password = env.get(value)
        if password is None:
            raise ConfigError(f"{where}: password_env names ${value}, which is not set; set it in the "
                              "environment of `vidvault record` (systemd: Environment= or EnvironmentFile=)")
    else:
        password = _read_password_file(base / value, where)
    if not password:
        raise ConfigError(f"{where}: the password from {key} is empty")
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def _read_password_file(path: Path, where: str) -> str:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{where}: password_file {path} does not exist; create it (mode 600) with the "
                          "password on one line") from None
    if not stat.S_ISREG(st.st_mode):  # a directory, a FIFO that blocks, /dev/zero that never ends
        raise ConfigError(f"{where}: password_file {path} is not a regular file; name the file holding the "
                          "password")
    if st.st_size > 4096:
        raise ConfigError(f"{where}: password_file {path} holds {st.st_size} bytes, not one password; "
                          "name the file holding the password alone")
    if st.st_mode & stat.S_IROTH:
        raise ConfigError(f"{where}: password_file {path} can be read by every user of this machine "
                          f"(mode {stat.S_IMODE(st.st_mode):o}); chmod 600 {path}")
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{where}: password_file {path} cannot be read ({e.__class__.__name__})") from None


def _path(data: Mapping[str, Any], key: str, source: str, base: Path) -> Path | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{source}: {key} must be a path (a string)")
    return base / value


def _no_unknown_keys(table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; the keys are {', '.join(allowed)}")


def _world_readable(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False
