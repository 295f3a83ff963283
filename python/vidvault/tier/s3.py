"""S3Tier: where a store's segments go in object storage, and the checks
``Store.set_tier`` makes before recording it.

Credentials never pass through here as arguments: boto3 takes them from
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` or a profile (``profile=``,
``AWS_PROFILE``), so nothing the store writes, logs or prints can hold them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import TierError
from ..timeutil import duration_ns

# Lock-probe outcomes, recorded at set_tier and shown by `tier status`.
HOLDS_BY_BUCKET = "holds enforced by the bucket"
HOLDS_BY_VIDVAULT = "holds enforced by vidvault only"

# S3 bucket naming rules (3-63 characters, lower case, digits, dots, hyphens).
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

#: boto3's "standard" retry mode: each request tried this often, with
#: exponential back-off and jitter between attempts.
REQUEST_ATTEMPTS = 3


def error_code(e: BaseException) -> str:
    """The S3 error code of a refused request ("404", "NoSuchKey"...), or ""."""
    response = getattr(e, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def why(e: BaseException) -> str:
    """A failed request in one line: the server's code and message, or the
    client's error (neither ever holds the credentials)."""
    response = getattr(e, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return f"{error_code(e)}: {response['Error'].get('Message', '')}".strip()
    return f"{type(e).__name__}: {e}"


@dataclass(frozen=True)
class S3Tier:
    """An S3-compatible bucket (AWS, MinIO, Ceph RGW, SeaweedFS...).

    ``upload_after``: how long after sealing a segment is uploaded;
    ``keep_local``: how long after its upload is confirmed the local copy
    stays before it is evicted (evict.py); ``read_cache_bytes``: the cap of
    the local cache of evicted segments fetched back for reading
    (read_cache.py). ``profile``: an AWS profile to take credentials from
    instead of the environment."""

    endpoint: str
    bucket: str
    prefix: str = ""
    region: str = "us-east-1"
    upload_after: str = "0s"
    keep_local: str = "1d"
    profile: str | None = None
    read_cache_bytes: int = 1 << 30

    def __post_init__(self) -> None:
        if not self.endpoint.startswith(("http://", "https://")):
            raise TierError(f"S3 endpoint {self.endpoint!r} must be an http:// or https:// URL")
        if "@" in self.endpoint.split("//", 1)[1].split("/", 1)[0]:
            raise TierError("the S3 endpoint must not carry credentials; set AWS_ACCESS_KEY_ID and "
                            "AWS_SECRET_ACCESS_KEY (or a profile) instead")
        if not _BUCKET_NAME.fullmatch(self.bucket or "") or ".." in self.bucket:
            raise TierError(f"{self.bucket!r} is not an S3 bucket name (3-63 lower-case letters, digits, dots "
                            "and hyphens)")
        if any(ord(c) < 0x20 or c == "\\" for c in self.prefix) or ".." in self.prefix.split("/"):
            raise TierError(f"the object-key prefix {self.prefix!r} must be plain path words separated by '/'")
        duration_ns(self.upload_after)
        duration_ns(self.keep_local)
        if not isinstance(self.read_cache_bytes, int) or self.read_cache_bytes < 1:
            raise TierError(f"read_cache_bytes must be a positive number of bytes, not {self.read_cache_bytes!r}")

    @property
    def where(self) -> str:
        """The bucket as error messages name it."""
        return f"bucket {self.bucket!r} at {self.endpoint}"

    @property
    def destination(self) -> tuple[str, str, str]:
        """Where objects go; two tiers with the same destination share keys."""
        return (self.endpoint.rstrip("/"), self.bucket, self.prefix.strip("/"))

    def object_key(self, store_id: str, segment_path: str) -> str:
        """prefix/STORE-ID/segments/CAMERA/DAY/ID.vvs: the segment's path in
        the store, under the store's id so recorders can share a bucket."""
        head = self.prefix.strip("/")
        return "/".join(p for p in (head, store_id, segment_path) if p)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "S3Tier":
        fields = {k: d[k] for k in ("endpoint", "bucket", "prefix", "region", "upload_after", "keep_local",
                                    "profile", "read_cache_bytes") if k in d}
        return cls(**fields)

    def client(self) -> Any:
        """A boto3 client with standard retries (exponential back-off)."""
        try:
            import boto3
            from botocore.config import Config
        except ImportError as e:  # pragma: no cover - boto3 is a dependency
            raise TierError("the S3 tier needs boto3: pip install 'vidvault[s3]'") from e
        session = boto3.session.Session(profile_name=self.profile) if self.profile else boto3.session.Session()
        config = Config(retries={"max_attempts": REQUEST_ATTEMPTS, "mode": "standard"}, connect_timeout=3,
                        read_timeout=30)
        return session.client("s3", endpoint_url=self.endpoint, region_name=self.region, config=config)

    def check(self, client: Any) -> None:
        """Raises TierError, naming endpoint and bucket, unless the bucket
        exists and these credentials may use it."""
        import botocore.exceptions as bx

        try:
            client.head_bucket(Bucket=self.bucket)
        except bx.NoCredentialsError:
            raise TierError(f"no S3 credentials for {self.where}: set AWS_ACCESS_KEY_ID and "
                            "AWS_SECRET_ACCESS_KEY (or a profile)") from None
        except bx.ClientError as e:
            code = error_code(e)
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise TierError(f"{self.where} does not exist: create it first (vidvault never creates "
                                "buckets)") from None
            if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise TierError(f"{self.where} refused these credentials ({code}): check "
                                "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile") from None
            raise TierError(f"{self.where} answered {code or e}") from None
        except bx.EndpointConnectionError:
            raise TierError(f"cannot reach {self.where}: is the server up and the URL right?") from None
        except bx.BotoCoreError as e:
            raise TierError(f"{self.where}: {why(e)}") from None

    def probe_object_lock(self, client: Any) -> str:
        """Whether the bucket really refuses to delete an object under a
        legal hold: puts a probe with a hold, tries to delete that version,
        then lifts the hold and removes it. Some servers accept the API and
        do not enforce it, so only a refused delete counts."""
        import botocore.exceptions as bx

        key = self.object_key("", f"lock-probe/{uuid.uuid4().hex}")
        try:
            put = client.put_object(Bucket=self.bucket, Key=key, Body=b"vidvault object-lock probe",
                                    ObjectLockLegalHoldStatus="ON", ChecksumAlgorithm="SHA256")
        except bx.ClientError:
            return HOLDS_BY_VIDVAULT  # no Object Lock on this bucket
        version = put.get("VersionId")
        refused = False
        try:
            client.delete_object(Bucket=self.bucket, Key=key, **({"VersionId": version} if version else {}))
        except bx.ClientError:
            refused = True
        try:
            client.put_object_legal_hold(Bucket=self.bucket, Key=key, LegalHold={"Status": "OFF"},
                                         **({"VersionId": version} if version else {}))
            client.delete_object(Bucket=self.bucket, Key=key, **({"VersionId": version} if version else {}))
        except bx.ClientError:
            pass  # already gone (lock not enforced), or the probe stays behind, harmless
        return HOLDS_BY_BUCKET if refused and version else HOLDS_BY_VIDVAULT
