"""Who can enter a store's directory: the footage is encrypted, the audit
log, catalog and policy mirrors are not."""

from __future__ import annotations

import vidvault


def test_a_new_store_in_an_empty_directory_anyone_could_enter_is_closed_to_other_users(tmp_path, key):
    given = tmp_path / "given"
    given.mkdir(mode=0o755)
    vidvault.Store.create(given, key=key).close()
    assert oct(given.stat().st_mode & 0o777) == "0o700"
    # An existing store keeps the mode its owner chose: open never changes it.
    given.chmod(0o750)
    vidvault.Store.open(given, key=key).close()
    assert oct(given.stat().st_mode & 0o777) == "0o750"


def test_fsck_names_a_store_other_users_can_enter_and_how_to_close_it(tmp_path, key):
    path = tmp_path / "older"
    with vidvault.Store.create(path, key=key) as store:
        assert store.fsck().ok
        path.chmod(0o755)  # as every store made before this build
        (problem,) = store.fsck().problems
        assert problem.path == str(path) and "mode 0755" in problem.detail and f"chmod 700 {path}" in problem.detail
        path.chmod(0o700)
        assert store.fsck().ok
