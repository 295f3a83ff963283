"""Optional C2PA content credentials on exported MP4s (c2pa-python, offline).

When an export is given an X.509 certificate chain and its private key
(``--c2pa-cert``/``--c2pa-key``, or ``C2paCredentials`` in Python), both MP4s
carry an embedded C2PA manifest signed with that key:

- ``clip.mp4``: a ``c2pa.created`` action (digital capture) and a
  ``org.vidvault.evidence`` assertion naming the store, camera, time range
  and case;
- ``clip.watermarked.mp4``: the signed ``clip.mp4`` as its ``parentOf``
  ingredient, with ``c2pa.opened``, ``c2pa.filtered`` (the burned-in
  watermark) and ``c2pa.transcoded`` actions.
- ``clip.redacted.mp4`` (a redacted package): no ingredient (the unredacted
  clip must not travel with it); ``c2pa.created`` (from a digital capture),
  ``c2pa.filtered`` (faces and plates obscured, and the watermark when
  there is one) and ``c2pa.transcoded``, and the evidence assertion with
  ``"redacted": true``.

No timestamp authority is contacted (exports happen offline), so the
signature's time is the signer's claim. The chain's root is not embedded;
validators decide whether to trust it (``validate(..., trust_anchors=...)``).
c2pa-python is an optional dependency: ``pip install 'vidvault[c2pa]'``.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from .._core import __version__
from ..errors import DependencyMissingError, InvalidArgumentError, MediaError

MIME = "video/mp4"
EVIDENCE_LABEL = "org.vidvault.evidence"
CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"


def _c2pa() -> Any:
    try:
        import c2pa
    except ImportError:
        raise DependencyMissingError(
            "C2PA needs the c2pa-python package: pip install 'vidvault[c2pa]' "
            "(or export without --c2pa-cert/--c2pa-key)"
        ) from None
    return c2pa


@dataclass(frozen=True)
class C2paCredentials:
    """A PEM certificate chain (signer first, then intermediates) and the
    signer's PEM private key."""

    cert_chain: bytes
    private_key: bytes

    @classmethod
    def from_files(cls, cert_chain: str | os.PathLike[str], private_key: str | os.PathLike[str]) -> "C2paCredentials":
        try:
            return cls(Path(cert_chain).read_bytes(), Path(private_key).read_bytes())
        except OSError as e:
            raise InvalidArgumentError(f"cannot read C2PA credentials {e.filename}: {e.strerror}") from None

    def algorithm(self) -> str:
        """The C2PA signing algorithm the private key implies."""
        try:
            key = serialization.load_pem_private_key(self.private_key, password=None)
        except (ValueError, TypeError) as e:
            raise InvalidArgumentError(f"the C2PA private key is not an unencrypted PEM key: {e}") from None
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return "ED25519"
        if isinstance(key, ec.EllipticCurvePrivateKey):
            bits = {"secp256r1": 256, "secp384r1": 384, "secp521r1": 512}.get(key.curve.name)
            if bits is None:
                raise InvalidArgumentError(f"C2PA does not sign with curve {key.curve.name}")
            return f"ES{bits}"
        if isinstance(key, rsa.RSAPrivateKey):
            return "PS256"
        raise InvalidArgumentError(f"C2PA cannot sign with a {type(key).__name__}")

    def signer(self) -> Any:
        c2pa = _c2pa()
        alg = getattr(c2pa.C2paSigningAlg, self.algorithm())
        info = c2pa.C2paSignerInfo(alg=alg, sign_cert=self.cert_chain, private_key=self.private_key, ta_url=None)
        try:
            return c2pa.Signer.from_info(info)
        except c2pa.C2paError as e:
            raise InvalidArgumentError(f"the C2PA certificate chain or key was refused: {e}") from None


def _generator() -> list[dict[str, str]]:
    return [{"name": "vidvault", "version": __version__}]


def _sign(path: Path, manifest: dict[str, Any], credentials: C2paCredentials,
          parent: Path | None = None) -> None:
    c2pa = _c2pa()
    signed = path.with_name(path.name + ".c2pa")
    try:
        with c2pa.Builder(manifest) as builder:
            if parent is not None:
                with open(parent, "rb") as f:
                    builder.add_ingredient(
                        {"title": parent.name, "relationship": "parentOf", "instance_id": "parent"}, MIME, f
                    )
            with open(path, "rb") as src, open(signed, "w+b") as dst:
                builder.sign(credentials.signer(), MIME, src, dst)
        os.replace(signed, path)
    except c2pa.C2paError as e:
        signed.unlink(missing_ok=True)
        raise MediaError(f"C2PA signing of {path} failed: {e}") from e


def _claim(path: Path, actions: list[dict[str, Any]], evidence: dict[str, Any]) -> dict[str, Any]:
    """The C2PA manifest of one of our MP4s: what was done, and the evidence assertion."""
    return {
        "claim_generator_info": _generator(),
        "title": path.name,
        "format": MIME,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": actions}},
            {"label": EVIDENCE_LABEL, "data": evidence},
        ],
    }


TRANSCODED = {"action": "c2pa.transcoded", "description": "re-encoded with libx264"}


def sign_original(path: Path, credentials: C2paCredentials, *, evidence: dict[str, Any]) -> None:
    """Embeds a C2PA manifest in the bit-exact clip."""
    _sign(path, _claim(path, [{"action": "c2pa.created", "digitalSourceType": CAPTURE}], evidence), credentials)


def sign_watermarked(path: Path, parent: Path, credentials: C2paCredentials, *, evidence: dict[str, Any]) -> None:
    """Embeds a C2PA manifest in the watermarked copy, ``parent`` its ingredient."""
    actions = [
        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}},
        {"action": "c2pa.filtered", "description": "visible evidence watermark burned into every frame"},
        TRANSCODED,
    ]
    _sign(path, _claim(path, actions, evidence), credentials, parent=parent)


def sign_redacted(path: Path, credentials: C2paCredentials, *, evidence: dict[str, Any], watermarked: bool) -> None:
    """Embeds a C2PA manifest in a redacted copy (no ingredient: the
    unredacted original is not in the package)."""
    obscured = "faces and licence plates obscured" + (", visible evidence watermark burned in" if watermarked else "")
    actions = [
        {"action": "c2pa.created", "digitalSourceType": CAPTURE},
        {"action": "c2pa.filtered", "description": obscured},
        TRANSCODED,
    ]
    _sign(path, _claim(path, actions, {**evidence, "redacted": True}), credentials)


@dataclass(frozen=True)
class C2paValidation:
    state: str | None  # "Trusted", "Valid", "Invalid", or None when no manifest was found
    failures: list[str]
    manifest: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.state in ("Valid", "Trusted") and not self.failures


def validate(path: str | os.PathLike[str], *, trust_anchors: bytes | None = None) -> C2paValidation:
    """Reads and validates an MP4's C2PA manifest. With ``trust_anchors``
    (PEM roots) the signing chain must lead to one of them ("Trusted")."""
    c2pa = _c2pa()
    settings: dict[str, Any] = {"verify": {"verify_trust": trust_anchors is not None}}
    if trust_anchors is not None:
        settings["trust"] = {"trust_anchors": trust_anchors.decode("ascii")}
    data = Path(path).read_bytes()
    try:
        with c2pa.Context.from_dict(settings) as context, c2pa.Reader(MIME, io.BytesIO(data), context=context) as reader:
            results = reader.get_validation_results() or {}
            failures = [f"{f.get('code')}: {f.get('explanation', '')}"
                        for f in results.get("activeManifest", {}).get("failure", [])]
            return C2paValidation(reader.get_validation_state(), failures, reader.get_active_manifest())
    except c2pa.C2paError as e:
        return C2paValidation(None, [f"no readable C2PA manifest: {e}"], None)
