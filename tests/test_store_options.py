"""Store options carry the Python API's names down to the core, and an option
the caller does not give keeps the core's default (written once, in the core)."""

from __future__ import annotations

import pytest

import vidvault
from vidvault import _core
from vidvault.store import _options


def test_options_not_given_are_not_passed():
    assert _options(None, None, None, None, None, None, None) == {}
    opts = _options(0.5, 60.0, 1 << 20, 2.5, 2, None, "fdatasync")
    assert opts == {"sync_interval": 0.5, "roll_after": 60.0, "roll_bytes": 1 << 20, "gap_threshold": 2.5,
                    "io_threads": 2, "commit_mode": "fdatasync"}


def test_core_takes_the_api_names_and_none_as_default(tmp_path, key):
    s = _core.Store.create(str(tmp_path / "a"), key, roll_after=60.0, gap_threshold=None, min_free_bytes=None)
    s.close()
    with pytest.raises(vidvault.InvalidArgumentError, match="unknown store option \"roll_seconds\""):
        _core.Store.create(str(tmp_path / "b"), key, roll_seconds=60.0)
    with pytest.raises(vidvault.InvalidArgumentError, match="roll_after must be positive"):
        _core.Store.create(str(tmp_path / "c"), key, roll_after=0)
