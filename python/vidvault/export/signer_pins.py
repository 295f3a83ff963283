"""Which signers a verifier trusts: one pinned public key, or a file of them.

Anyone can make an intact, validly signed package with a key of their own,
so a package proves who exported it only when its signer is one the
verifier chose beforehand. Two ways to choose (docs/EXPORT.md, section 4):

- ``public_key``: one store's export public key (PEM, 64 hex characters or
  32 raw bytes; or a file holding one);
- ``trusted_signers``: a text file naming the stores you trust, one a line::

      # lines starting with '#' and blank lines are ignored
      sha256:3f0c...e1  Store A, headquarters     <- a fingerprint (64 hex), then a label
      3f0c...e1                                   <- the same: a bare 64-hex entry is a fingerprint
      ed25519:9a41...07  Store B                  <- a public key (64 hex)

  A fingerprint is what ``vidvault export-public-key`` and ``vidvault
  verify`` print: the SHA-256 of the raw key.

A pin that cannot be read is the caller's mistake and raises
InvalidArgumentError (the CLI's usage error); it never weakens to "unpinned".
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import keys
from ..errors import InvalidArgumentError

#: Largest trusted-signers file read (a few thousand stores).
MAX_FILE_BYTES = 1 << 20
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class SignerPins:
    """``key``: the one pinned key; ``trusted``: fingerprint -> label from a
    trusted-signers file (``source``). Empty: nothing pinned."""

    key: bytes | None = None
    trusted: dict[str, str] = field(default_factory=dict)
    source: str | None = None

    def label_of(self, fingerprint: str) -> str | None:
        """The label of a trusted fingerprint ("" when it has none), or None."""
        return self.trusted.get(fingerprint)


def pins_from(public_key: bytes | str | os.PathLike[str] | None,
              trusted_signers: str | os.PathLike[str] | None) -> SignerPins:
    if public_key is not None and trusted_signers is not None:
        raise InvalidArgumentError("pin the signer with a public key or with a trusted-signers file, not both")
    if public_key is not None:
        return SignerPins(key=_key_bytes(public_key))
    if trusted_signers is not None:
        return SignerPins(trusted=load_trusted_signers(trusted_signers), source=str(trusted_signers))
    return SignerPins()


def _key_bytes(public_key: bytes | str | os.PathLike[str]) -> bytes:
    if isinstance(public_key, bytes) and len(public_key) == keys.RAW_BYTES:
        return public_key
    if isinstance(public_key, (str, os.PathLike)) and Path(public_key).is_file():
        return keys.load_public_key(public_key)
    if isinstance(public_key, (str, os.PathLike)) and not _HEX64.fullmatch(str(public_key).strip()) \
            and not str(public_key).lstrip().startswith("-----BEGIN"):
        raise InvalidArgumentError(f"public key file {public_key} does not exist (pass a PEM or hex key file, "
                                   "or the key itself)")
    data = public_key if isinstance(public_key, bytes) else str(public_key).encode()
    return keys.parse_public_key(data)


def load_trusted_signers(path: str | os.PathLike[str]) -> dict[str, str]:
    """Parses a trusted-signers file (module docstring): fingerprint -> label."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise InvalidArgumentError(f"cannot read trusted-signers file {path}: {e.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise InvalidArgumentError(f"trusted-signers file {path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgumentError(f"trusted-signers file {path} is not UTF-8 text") from None
    trusted: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entry, _, label = line.partition(" ")
        trusted[_fingerprint_of(entry, f"{path}, line {number}")] = label.strip()
    if not trusted:
        raise InvalidArgumentError(f"trusted-signers file {path} names no signer (one fingerprint or "
                                   "ed25519:KEY a line)")
    return trusted


def _fingerprint_of(entry: str, where: str) -> str:
    kind, sep, value = entry.partition(":")
    if not sep:
        kind, value = "sha256", entry
    if _HEX64.fullmatch(value) and kind in ("sha256", "ed25519"):
        value = value.lower()
        return value if kind == "sha256" else keys.fingerprint(bytes.fromhex(value))
    raise InvalidArgumentError(f"{where}: {entry[:80]!r} is not a signer; write sha256:FINGERPRINT (64 hex, as "
                               "`vidvault export-public-key` prints it) or ed25519:PUBLICKEY (64 hex), then an "
                               "optional label")
