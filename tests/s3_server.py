"""The tier tests' S3 server: `weed mini` on loopback
(vidvault/bench/s3_server.py, shared with `vidvault bench tier`), with the
tests' identity."""

from __future__ import annotations

from pathlib import Path

from vidvault.bench.s3_server import S3Server as _S3Server

ACCESS_KEY = "vidvault-test-access"
SECRET_KEY = "vv-secret-7f3c9a1e5b2d4c6f8a0e"  # tests scan every output for this string


class S3Server(_S3Server):
    @classmethod
    def launch(cls, data_dir: Path, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> "S3Server":
        return super().launch(data_dir, access_key, secret_key)
