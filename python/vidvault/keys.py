"""Keys a caller handles: the master key and the public half of the export
signing key.

A store's master key is 32 random bytes. On the command line it comes from
``--key-file FILE`` (32 raw bytes or 64 hex characters) or the ``VIDVAULT_KEY``
environment variable (64 hex characters). Keys are never logged or printed.

A store signs its export manifests (and its audit checkpoints) with Ed25519
keys created with the store and kept encrypted under the master key
(docs/FORMAT.md). Only public keys leave the store, in three interchangeable
forms:

- PEM ``PUBLIC KEY`` (X.509 SubjectPublicKeyInfo), as in ``signer.pub``: what
  OpenSSL reads (``openssl pkeyutl -verify -pubin -inkey signer.pub -rawin
  -in manifest.json -sigfile manifest.sig``);
- 64 hexadecimal characters (the raw 32 bytes), easy to read out or print;
- the raw 32 bytes.

A fingerprint (SHA-256 of the raw key, hex) names a key in reports.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from .errors import InvalidArgumentError

KEY_BYTES = 32
#: Size of a raw Ed25519 public key.
RAW_BYTES = 32
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
        "create one with `vidvault generate-key --out FILE`"
    )


def generate_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def write_key_file(path: str | os.PathLike[str]) -> None:
    """Writes a new key as hex to ``path`` with mode 0600; refuses to overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(generate_key().hex() + "\n")


# -------------------------------------------------------------- public keys
#
# cryptography is imported by the functions that use it: the master key's
# loading above is on the start-up path of every `vidvault ingest` and
# `vidvault record` process, and the library costs about 0.07 CPU-s to load.


def to_pem(raw: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = Ed25519PublicKey.from_public_bytes(raw)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def parse_public_key(data: bytes, *, where: str = "the public key") -> bytes:
    """PEM, 64 hex characters or 32 raw bytes -> the raw 32-byte key."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            key = serialization.load_pem_public_key(text)
        except ValueError as e:
            raise InvalidArgumentError(f"{where} is not a readable PEM public key: {e}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise InvalidArgumentError(f"{where} is a {type(key).__name__}, not an Ed25519 public key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if len(text) == 2 * RAW_BYTES:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            pass
    if len(data) == RAW_BYTES:
        return bytes(data)
    raise InvalidArgumentError(
        f"{where} is neither a PEM public key, 64 hex characters nor 32 raw bytes; "
        "get the store's key with `vidvault export-public-key STORE`"
    )


def load_public_key(path: str | os.PathLike[str]) -> bytes:
    """A raw Ed25519 public key from a file holding it as PEM, 64 hex
    characters or 32 raw bytes."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InvalidArgumentError(f"cannot read public key file {path}: {e.strerror}") from None
    return parse_public_key(data, where=str(path))


def signature_valid(raw: bytes, message: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
