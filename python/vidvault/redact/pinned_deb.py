"""Files taken out of pinned Debian packages (test footage).

Like :mod:`.pinned_files` for wheels: a file is named by its package
(name, version, the ``.deb``'s SHA-256 as Debian's archive index lists it),
its path inside the package and its own SHA-256. ``apt-get download`` is
the only network access, in an explicit install step; both hashes are
checked before anything is written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import DependencyMissingError, ModelMissingError
from ..filehash import sha256_file
from .pinned_files import state as deb_state  # one rule for every pinned file


@dataclass(frozen=True)
class PinnedDebFile:
    name: str          # file name in the install directory
    purpose: str
    package: str
    version: str
    deb_sha256: str
    member: str        # path inside the package, e.g. usr/share/doc/...
    sha256: str        # of the file itself
    licence: str


def install_deb_file(spec: PinnedDebFile, directory: Path, *, say: Callable[[str], None] = print) -> Path:
    """Installs ``spec`` into ``directory`` unless already there intact."""
    path = directory / spec.name
    if deb_state(spec, directory) == "installed":
        say(f"{spec.name:24} already installed ({spec.package} {spec.version}, {spec.licence})")
        return path
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise DependencyMissingError(f"{spec.name} comes from the Debian package {spec.package} {spec.version}; "
                                         f"installing it needs `{tool}`, which is not on PATH", name=tool)
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vidvault-deb-") as tmp:
        r = subprocess.run(["apt-get", "download", "-q", f"{spec.package}={spec.version}"], cwd=tmp,
                           capture_output=True, text=True)
        debs = list(Path(tmp).glob("*.deb"))
        if r.returncode != 0 or not debs:
            raise ModelMissingError(f"apt-get could not download {spec.package}={spec.version} (for {spec.name}): "
                                    f"{r.stderr.strip() or r.stdout.strip()}; run `apt-get update` first",
                                    model=spec.name, path=None)
        digest = sha256_file(debs[0])
        if digest != spec.deb_sha256:
            raise ModelMissingError(f"{debs[0].name} has SHA-256 {digest}, pinned {spec.deb_sha256}; not installed",
                                    model=spec.name, path=None)
        out = Path(tmp) / "tree"
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(out)], check=True)
        member = out / spec.member
        digest = sha256_file(member)
        if digest != spec.sha256:
            raise ModelMissingError(f"{spec.member} in {spec.package} {spec.version} has SHA-256 {digest}, "
                                    f"pinned {spec.sha256}; not installed", model=spec.name, path=None)
        partial = path.with_name(path.name + ".partial")
        shutil.copyfile(member, partial)
        os.replace(partial, path)
    say(f"{spec.name:24} installed from Debian {spec.package} {spec.version} ({spec.licence}), "
        f"sha256 {spec.sha256[:16]}...")
    return path
