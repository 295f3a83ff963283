"""The object-storage tier: sealed segments copied to an S3 bucket.

:class:`S3Tier` (s3.py) names the bucket; ``Store.set_tier`` checks it and
records it in the store (settings.py); uploads (upload.py) record each
confirmed object in the store's tier ledger (ledger.py); retire.py deletes
the objects of segments retention deleted. See docs/STORAGE.md.
"""

from .s3 import S3Tier
from .status import TierStatus

__all__ = ["S3Tier", "TierStatus"]
