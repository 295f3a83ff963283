"""One writer per store, whatever happens to the LOCK file: the lock is held
on the store directory itself, so unlinking (or replacing) LOCK does not let
a second writer in, in this process or another."""

from __future__ import annotations

import subprocess
import sys

import pytest

import vidvault
from vidvault.errors import StoreLockedError


def test_unlinking_lock_does_not_admit_a_second_writer(store_path, key):
    with vidvault.Store.create(store_path, key=key):
        (store_path / "LOCK").unlink()
        with pytest.raises(StoreLockedError) as info:
            vidvault.Store.open(store_path, key=key)
        assert str(store_path) in str(info.value)
    vidvault.Store.open(store_path, key=key).close()  # free once closed


def test_replacing_lock_does_not_admit_a_writer_in_another_process(store_path, key):
    child = (
        "import sys, vidvault\n"
        "try:\n"
        "    vidvault.Store.open(sys.argv[1], key=bytes.fromhex(sys.argv[2])).close()\n"
        "except vidvault.errors.StoreLockedError:\n"
        "    sys.exit(3)\n"
    )
    with vidvault.Store.create(store_path, key=key):
        (store_path / "LOCK").unlink()
        (store_path / "LOCK").write_text("1\n")  # a fresh inode, unlocked
        r = subprocess.run([sys.executable, "-c", child, str(store_path), key.hex()],
                           capture_output=True, text=True)
        assert r.returncode == 3, r.stderr
