"""Legal holds mirrored as S3 Object Lock legal holds.

Where the probe at ``set_tier`` found that the bucket really refuses to
delete an object under a legal hold (``HOLDS_BY_BUCKET``), every uploaded
object of a segment an active legal hold covers carries an S3 legal hold
too, and an object no active hold covers any more has it lifted. The bucket
then protects held footage on its own: nobody with these or other
credentials can delete that object version while the hold is on, so a held
segment may be evicted (evict.py) like any other. Where the bucket does not
enforce holds, nothing is placed and held segments keep their local copy.

This is a reconciliation, not a reaction to single events: each call
compares, for every object in the ledger, "an active hold covers its
segment" (none does once the segment is deleted) with the ledger's
``legal_hold_ns``, and changes only the objects that differ. So a hold
placed, released or expired (``until``), or an object uploaded while a hold
is active, are all handled by the next call; a second hold over the same
footage keeps the object locked when the first is released. The ledger is
written after the server confirmed each change; a call that fails (the
bucket unreachable) changes nothing further and is repeated by the next
upload round."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from ..errors import TierError
from .ledger import Ledger
from .s3 import S3Tier, why


def put_legal_hold(client: Any, tier: S3Tier, key: str, version_id: str | None, on: bool) -> None:
    version = {} if version_id in (None, "null") else {"VersionId": version_id}
    client.put_object_legal_hold(Bucket=tier.bucket, Key=key, LegalHold={"Status": "ON" if on else "OFF"}, **version)


def mirror_legal_holds(client: Any, tier: S3Tier, segments: Iterable[Any], ledger: Ledger,
                       is_held: Callable[[Any], bool], audit: Callable[[str, str, str], None]) -> tuple[list[int], list[int]]:
    """Places and lifts S3 legal holds until the bucket matches the active
    holds; returns (ids placed, ids lifted). Raises TierError, naming the
    segment, the object and the bucket, if the server refuses or cannot be
    reached (after an audit entry)."""
    import botocore.exceptions as bx

    by_id = {s.id: s for s in segments}
    placed, lifted = [], []
    for segment_id, upload in sorted(ledger.uploads().items()):
        segment = by_id.get(segment_id)
        want = segment is not None and is_held(segment)
        if want == (upload.legal_hold_ns is not None):
            continue
        what = f"segment {segment_id} (object {upload.object_key!r} in {tier.where})"
        try:
            put_legal_hold(client, tier, upload.object_key, upload.version_id, want)
        except (bx.BotoCoreError, bx.ClientError) as e:
            message = (f"could not {'place' if want else 'lift'} the S3 legal hold of {what}: {why(e)}; "
                       "tried again at the next upload round")
            audit("tier_legal_hold", "failed", message)
            raise TierError(message) from None
        ledger.set_legal_hold(segment_id, want)
        if want:
            placed.append(segment_id)
            audit("tier_legal_hold", "placed", f"S3 Object Lock legal hold placed on {what}: a legal hold covers "
                  "its footage, and the bucket refuses to delete the object while it is on")
        else:
            lifted.append(segment_id)
            audit("tier_legal_hold", "lifted", f"S3 Object Lock legal hold lifted from {what}: no active legal "
                  "hold covers its footage any more")
    return placed, lifted
