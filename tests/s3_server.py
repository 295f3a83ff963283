"""The tier tests' S3 server: `weed mini` on loopback
(vidvault/tier/loopback_server.py, shared with `vidvault demo --s3` and `vidvault bench tier`), with the
tests' identity."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from vidvault.tier.loopback_server import S3Server as _S3Server

ACCESS_KEY = "vidvault-test-access"
SECRET_KEY = "vv-secret-7f3c9a1e5b2d4c6f8a0e"  # tests scan every output for this string


def use_test_credentials(mp, home: Path) -> None:
    """The standard variables boto3 reads, set on pytest MonkeyPatch ``mp``
    to this server's identity, and nothing else from this host (no ~/.aws
    files, they would be under ``home``; no instance-metadata lookups)."""
    mp.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    mp.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    mp.setenv("AWS_CONFIG_FILE", str(home / "no-aws-config"))
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "no-aws-credentials"))
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        mp.delenv(name, raising=False)


#: An identity that may only read and list (a reader node's), on servers launched with it.
READER_ACCESS_KEY = "vidvault-test-reader"
READER_SECRET_KEY = "vv-reader-secret-2b8d6f0a4c1e3a5b"


class S3Server(_S3Server):
    @classmethod
    def launch(cls, data_dir: Path, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY,
               read_only: tuple[str, str] | None = None) -> "S3Server":
        return super().launch(data_dir, access_key, secret_key, read_only)


def launched(tmp_path_factory, name: str, **launch: Any) -> Iterator[S3Server]:
    """The body of a test module's ``s3`` fixture: a server under a fresh
    directory, with the tests' credentials set while it starts, stopped at
    the end (``yield from launched(tmp_path_factory, "name")``)."""
    import pytest

    home = tmp_path_factory.mktemp(name)
    with pytest.MonkeyPatch.context() as mp:
        use_test_credentials(mp, home)
        server = S3Server.launch(home / "weed", **launch)
        try:
            yield server
        finally:
            server.stop()
