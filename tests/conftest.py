"""Shared fixtures: keys, stores in temporary directories, and real encoded
clips (PyAV libx264/libx265), generated once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import vidvault
from vidvault import media

from helpers import T0  # noqa: F401  (re-exported for tests)

# `./dev test` points VIDVAULT_MODELS at the checkout's models/ (installed by
# `vidvault models install`); running pytest directly finds them there too.
_MODELS = Path(__file__).resolve().parent.parent / "models"
if _MODELS.is_dir():
    os.environ.setdefault("VIDVAULT_MODELS", str(_MODELS))


@pytest.fixture
def key() -> bytes:
    return vidvault.generate_key()


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def store(store_path, key):
    s = vidvault.Store.create(store_path, key=key, roll_after=2.0, sync_interval=0.05)
    yield s
    s.close()


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    """clip(codec=..., bframes=..., ...) -> path of a real encoded file (cached)."""
    directory = tmp_path_factory.mktemp("clips")
    cache: dict = {}

    def get(codec="h264", bframes=0, width=640, height=360, seconds=6.0, ext="mp4", fps=25, gop=None):
        k = (codec, bframes, width, height, seconds, ext, fps, gop)
        if k not in cache:
            name = f"{codec}-b{bframes}-{width}x{height}-{seconds}s-{fps}fps-g{gop}.{ext}"
            cache[k] = media.encode_synthetic(
                directory / name, codec=codec, bframes=bframes, width=width, height=height,
                seconds=seconds, fps=fps, gop=gop, seed=len(cache),
            )
        return cache[k]

    return get


@pytest.fixture
def small_fs(tmp_path):
    """A real 48 MiB filesystem: a size-limited tmpfs the test mounts
    (mounting needs root)."""
    from helpers import small_disk

    with small_disk(tmp_path / "small", "48m") as mnt:
        yield mnt
