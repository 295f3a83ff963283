"""Master keys: where they come from and how they are checked.

A store's master key is 32 random bytes. On the command line it comes from
``--key-file FILE`` (32 raw bytes or 64 hex characters) or the ``VIDVAULT_KEY``
environment variable (64 hex characters). Keys are never logged or printed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .errors import InvalidArgumentError

KEY_BYTES = 32
ENV_VAR = "VIDVAULT_KEY"


def coerce_key(key: bytes | bytearray | str) -> bytes:
    """Accepts 32 bytes or 64 hex characters; returns 32 bytes."""
    if isinstance(key, (bytes, bytearray)):
        if len(key) == KEY_BYTES:
            return bytes(key)
        text = bytes(key).decode("ascii", errors="replace").strip()
    elif isinstance(key, str):
        text = key.strip()
    else:
        raise InvalidArgumentError(f"a key must be bytes or a hex string, got {type(key).__name__}")
    if len(text) != 2 * KEY_BYTES:
        raise InvalidArgumentError(
            f"a master key is {KEY_BYTES} bytes or {2 * KEY_BYTES} hex characters "
            f"(got {len(text)} characters)"
        )
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise InvalidArgumentError("the master key is not valid hex") from None


def load_key(key_file: str | os.PathLike[str] | None = None) -> bytes:
    """The key from ``key_file``, else from ``$VIDVAULT_KEY``."""
    if key_file is not None:
        path = Path(key_file)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise InvalidArgumentError(f"cannot read key file {path}: {e.strerror}") from None
        return coerce_key(data)
    env = os.environ.get(ENV_VAR)
    if env:
        return coerce_key(env)
    raise InvalidArgumentError(
        f"no master key: pass --key-file FILE or set {ENV_VAR} (64 hex characters); "
        "create one with `vidvault keygen --out FILE`"
    )


def generate_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def write_key_file(path: str | os.PathLike[str]) -> None:
    """Writes a new key as hex to ``path`` with mode 0600; refuses to overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(generate_key().hex() + "\n")


def load_public_key(path: str | os.PathLike[str]) -> bytes:
    """A raw Ed25519 public key (32 bytes) from a file holding it as 64 hex
    characters, 32 raw bytes, or PEM (SubjectPublicKeyInfo)."""
    data = Path(path).read_bytes()
    text = data.decode("ascii", errors="replace").strip()
    if len(data) == 32:
        return data
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    if "BEGIN PUBLIC KEY" in text:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        key = serialization.load_pem_public_key(data)
        if isinstance(key, Ed25519PublicKey):
            return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raise InvalidArgumentError(f"{path} does not hold an Ed25519 public key (hex, raw or PEM)")
