"""What the figures were measured on: CPU, cores, kernel, filesystem, free
space and software versions."""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _filesystem(path: Path) -> tuple[str, str]:
    """(type, device) of the mount holding `path`: the longest mount prefix."""
    best = ("unknown", "unknown", "")
    try:
        target = str(path.resolve())
        for line in Path("/proc/mounts").read_text().splitlines():
            dev, mnt, fstype, *_ = line.split()
            mnt = mnt.replace("\\040", " ")
            if (target == mnt or target.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best[2]):
                best = (fstype, dev, mnt)
    except OSError:
        pass
    return best[0], best[1]


def _versions() -> dict[str, str]:
    import av
    import numpy

    import vidvault

    return {"vidvault": vidvault.__version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "av": av.__version__, "ffmpeg": ".".join(map(str, av.library_versions.get("libavformat", ())))}


def machine_info(directory: Path) -> dict[str, Any]:
    usage = shutil.disk_usage(directory)
    fstype, device = _filesystem(directory)
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "directory": str(directory),
        "filesystem": fstype,
        "device": device,
        "free_bytes": usage.free,
        "total_bytes": usage.total,
        "memory_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "versions": _versions(),
    }


def rss_bytes() -> int:
    """Resident set size of this process now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
