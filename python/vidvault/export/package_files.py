"""The files of a package as the verifier sees them: a directory, or a zip
archive of one, and never anything outside it.

A package is flat: every file sits at its top level under a plain name. The
verifier reads only regular files found there; a symbolic link, a folder, a
device or a zip member whose name is a path (``../x``, ``/etc/passwd``,
``a/b``) is never opened, and is reported as an entry the manifest does not
cover. A zip is extracted, member by member and within the sizes its
directory declares, into a private temporary directory that is removed when
verification ends; an archive whose members all sit in one folder (what
zipping the package's directory gives) is read as that folder.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

#: Largest archive content extracted for verification (sum of declared sizes).
MAX_ZIP_BYTES = 64 << 30
#: Most members an archive may hold (a package has at most a handful).
MAX_ZIP_MEMBERS = 1024


class PackageUnreadable(Exception):
    """The package cannot be opened at all (missing, not a directory or zip)."""


@dataclass
class PackageFiles:
    """``root``: the directory the checks read; ``files``: names of the regular
    files at its top level; ``refused``: entries never read, and why."""

    source: Path
    root: Path
    files: set[str] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    def path(self, name: str) -> Path | None:
        """The file ``name`` of the package, or None when it has no regular file of that name."""
        return self.root / name if name in self.files else None

    def read(self, name: str, limit: int) -> bytes | None:
        """The bytes of ``name`` (at most ``limit``; longer files return None), or None."""
        path = self.path(name)
        if path is None:
            return None
        with open(path, "rb") as f:
            data = f.read(limit + 1)
        return data if len(data) <= limit else None

    def __enter__(self) -> PackageFiles:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def open_package(source: str | os.PathLike[str], *, max_zip_bytes: int = MAX_ZIP_BYTES) -> PackageFiles:
    """Opens a package directory or zip; raises PackageUnreadable saying why not.
    A zip whose members declare more than ``max_zip_bytes`` is not extracted."""
    src = Path(source)
    if src.is_dir():
        return _scan(PackageFiles(src, src))
    if src.is_file():
        if not zipfile.is_zipfile(src):
            raise PackageUnreadable(f"{src} is neither a package directory nor a zip archive of one")
        return _extract(src, max_zip_bytes)
    raise PackageUnreadable(f"{src} does not exist" if not os.path.lexists(src) else
                            f"{src} is neither a package directory nor a zip archive of one")


def _scan(pkg: PackageFiles) -> PackageFiles:
    for entry in os.scandir(pkg.root):
        if entry.is_file(follow_symlinks=False):
            pkg.files.add(entry.name)
        elif entry.is_symlink():
            pkg.refused[entry.name] = "a symbolic link (never followed)"
        elif entry.is_dir(follow_symlinks=False):
            pkg.refused[entry.name] = "a folder (a package is flat)"
        else:
            pkg.refused[entry.name] = "not a regular file"
    return pkg


def _member_problem(info: zipfile.ZipInfo, name: str) -> str | None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "a symbolic link (never followed)"
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        return "a path, not a plain file name (nothing outside the package is read)"
    return None


def _strip_folder(names: list[str]) -> str:
    """The one folder every member sits in (``"pkg/"``), or ``""``."""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) == 1 and all("/" in n for n in names):
        top = next(iter(tops))
        if top not in ("", ".", ".."):
            return top + "/"
    return ""


def _extract(src: Path, max_zip_bytes: int) -> PackageFiles:
    try:
        archive = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise PackageUnreadable(f"{src} is not a readable zip archive: {e}") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_ZIP_MEMBERS:
            raise PackageUnreadable(f"{src} holds {len(members)} members; a package has a handful")
        declared = sum(m.file_size for m in members)
        if declared > max_zip_bytes:
            raise PackageUnreadable(f"{src} declares {declared} bytes of content, more than the "
                                    f"{max_zip_bytes} this verifier extracts")
        tmp = tempfile.TemporaryDirectory(prefix="vidvault-verify-")
        pkg = PackageFiles(src, Path(tmp.name), _tmp=tmp)
        try:
            _extract_members(archive, members, pkg)
        except BaseException:
            tmp.cleanup()
            raise
    return pkg


def _extract_members(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], pkg: PackageFiles) -> None:
    prefix = _strip_folder([m.filename for m in members])
    for info in members:
        name = info.filename[len(prefix):]
        problem = _member_problem(info, name)
        if problem is None and name in pkg.files:
            problem = "a second member of the same name"
        if problem is not None:
            pkg.refused[info.filename] = problem
            continue
        try:
            with archive.open(info) as f, open(pkg.root / name, "xb") as out:
                shutil.copyfileobj(f, out, 1 << 20)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
                RuntimeError) as e:
            raise PackageUnreadable(f"{pkg.source}: member {info.filename!r} cannot be extracted "
                                    f"(truncated or damaged archive?): {e}") from None
        pkg.files.add(name)
