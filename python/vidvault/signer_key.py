"""The export signing key's public half: encodings and signature checks.

A store signs its export manifests with an Ed25519 key created with the store
and kept encrypted under the master key (docs/FORMAT.md, keystore kind 2).
Only the public key leaves the store, in three interchangeable forms:

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
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .errors import InvalidArgumentError

RAW_BYTES = 32


def to_pem(raw: bytes) -> bytes:
    key = Ed25519PublicKey.from_public_bytes(raw)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def parse_public_key(data: bytes, *, where: str = "the public key") -> bytes:
    """PEM, 64 hex characters or 32 raw bytes -> the raw 32-byte key."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
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
        "get the store's key with `vidvault keys export-public STORE`"
    )


def load_public_key(path: str | os.PathLike[str]) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InvalidArgumentError(f"cannot read public key file {path}: {e.strerror}") from None
    return parse_public_key(data, where=str(path))


def signature_valid(raw: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
