"""A store's link to its tier: the settings, the ledger, the read cache of
evicted segments, and the background uploader (and evicter) of a live store. Ingest never waits on it: uploads run on their
own thread, and an unreachable bucket only grows the backlog, raises the
alarm ``storage_status()`` shows and writes one audit entry when it starts
failing and one when it recovers (the alarm is kept in the ledger, so a
reopened store carries it on)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable

from ..errors import TierError
from . import settings
from .evict import evict_due, evict_for_space
from .ledger import Ledger
from .legal_hold import mirror_legal_holds
from .object_check import ObjectCheck, check_objects
from .read_cache import ReadCache
from .replica import Replicator, Sealer
from .retire import retire_expired
from .s3 import HOLDS_BY_BUCKET, S3Tier, why
from .status import TierStatus
from .upload import SyncReport, backlog, sync

#: Seconds between upload rounds, and the longest back-off after failures.
ROUND_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 60.0


class TierLink:
    def __init__(self, root: Path, store_id: str, tier: S3Tier, holds: str,
                 list_segments: Callable[[], list[Any]], audit: Callable[..., None],
                 is_held: Callable[[Any], bool], sealer: Sealer, *, reader: bool = False) -> None:
        self.root, self.store_id, self.tier, self.holds = root, store_id, tier, holds
        #: A read-only view of another node's store (Store.open_remote): it
        #: reads objects and never writes, deletes or replicates any.
        self.reader = reader
        self._list_segments = list_segments
        self._audit = audit
        self._is_held = is_held
        self.ledger = Ledger(root)
        self.cache = ReadCache(root, tier, self.ledger, audit, reader=reader)
        self.replicator = Replicator(root, store_id, tier, sealer)
        self._alarm: str | None = self.ledger.get("alarm")
        self._round = threading.Lock()  # one upload round at a time (thread or `tier sync`)
        self._relief = threading.Lock()  # one disk-pressure relief at a time (janitor or a check)
        self._legal_holds = threading.Lock()  # one reconciliation of S3 legal holds at a time
        # One S3 client for every round: building one costs 0.1-0.2 s of CPU (botocore loads its service
        # models), which a new one per round spent every 2 s on an idle recorder. boto3 clients are
        # thread-safe; a failed round drops it, so the next one starts from a fresh connection pool.
        self._client: Any = None
        self._client_lock = threading.Lock()
        # Which segments may have an object in the bucket but no ledger row, and so get a HEAD before
        # their PUT: those sealed before this link began (an earlier process may have crashed between
        # a PUT and its record), and those whose upload here failed (the PUT may have landed). One
        # sealed since, never tried, cannot be there: its PUT goes first (a HEAD is a round trip).
        self._began_ns = time.time_ns()
        self._maybe_sent: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def load(cls, root: Path, store_id: str, list_segments: Callable[[], list[Any]],
             audit: Callable[..., None], is_held: Callable[[Any], bool], sealer: Sealer) -> "TierLink | None":
        found = settings.load(root)
        return None if found is None else cls(root, store_id, *found, list_segments, audit, is_held, sealer,
                                              reader=settings.role(root) == settings.READER)

    @property
    def alarm(self) -> str | None:
        return self._alarm

    def _s3(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self.tier.client()
            return self._client

    def _drop_client(self) -> None:
        with self._client_lock:
            self._client = None

    def _may_be_in_bucket(self, segment: Any) -> bool:
        return (segment.sealed_at is None or segment.sealed_at <= self._began_ns
                or segment.id in self._maybe_sent)

    def sync(self, progress: Callable[[int, int, Any], None] | None = None, force_replica: bool = False) -> SyncReport:
        """One round now: uploads what is due, deletes from the bucket what
        retention deleted (retire.py), evicts the local copies that may go
        (evict.py), then sends a snapshot of the store's metadata if it
        changed (replica.py; ``force_replica``: in any case); sets or
        clears the alarm by its outcome."""
        if self.reader:
            raise TierError(f"store {self.root} is a read-only view of {self.tier.where}: it uploads, deletes "
                            "and replicates nothing there (the recorder that owns the prefix does)")
        with self._round:
            report = SyncReport()
            try:
                client, segments = self._s3(), self._list_segments()
                report = sync(client, self.tier, self.root, self.store_id, segments, self.ledger, progress=progress,
                              may_be_in_bucket=self._may_be_in_bucket)
                self._maybe_sent.difference_update(report.uploaded)
                self._maybe_sent.update(segment_id for segment_id, _ in report.failed if segment_id >= 0)
                if not report.failed:
                    # Before retiring and evicting: a lifted hold lets retention delete the object, a placed
                    # one lets a held segment be evicted.
                    report.legal_holds_placed, report.legal_holds_lifted = self._mirror_legal_holds(client, segments)
                    report.retired = retire_expired(client, self.tier, self.root, (s.id for s in segments),
                                                    self.ledger, self._audit)
                    for segment_id in report.retired:
                        self.cache.drop(segment_id)
                    report.evicted, report.evicted_bytes, report.held_local = evict_due(
                        client, self.tier, self.root, segments, self.ledger, self.holds, self._is_held)
                    if report.evicted:
                        self._audit("tier_evicted", "done", f"{len(report.evicted)} segments evicted "
                                    f"({report.evicted_bytes} bytes): now in {self.tier.where} only")
                    report.replica_seq = self.replicator.replicate(client, force=force_replica)
            except TierError as e:
                report.failed.append((-1, str(e)))
            except Exception as e:  # building the client or listing failed: same as a failed round
                report.failed.append((-1, f"{self.tier.where}: {why(e)}"))
            if report.failed:
                self._drop_client()
                if any(segment_id < 0 for segment_id, _ in report.failed):
                    # Not pinned to one segment (a ledger write, say, after a PUT): any of them may be there.
                    self._began_ns = time.time_ns()
            self._set_alarm(report)
            return report

    def mirror_legal_holds(self) -> tuple[list[int], list[int]]:
        """Now, after a hold was placed or released: S3 legal holds on the
        objects active holds cover, lifted from the others (legal_hold.py);
        returns (ids placed, ids lifted). Nothing on a bucket that does not
        enforce holds. Raises TierError (audited) if the bucket refuses or
        cannot be reached; the next upload round tries again."""
        if self.holds != HOLDS_BY_BUCKET or self.reader:
            return [], []
        try:
            client, segments = self._s3(), self._list_segments()
        except Exception as e:
            message = f"could not mirror legal holds to {self.tier.where}: {why(e)}; tried again at the next round"
            self._audit("tier_legal_hold", "failed", message)
            raise TierError(message) from None
        return self._mirror_legal_holds(client, segments)

    def _mirror_legal_holds(self, client: Any, segments: list[Any]) -> tuple[list[int], list[int]]:
        if self.holds != HOLDS_BY_BUCKET:
            return [], []
        with self._legal_holds:
            return mirror_legal_holds(client, self.tier, segments, self.ledger, self._is_held, self._audit)

    def check_objects(self, *, deep: bool) -> ObjectCheck:
        """fsck's look at the bucket (object_check.py). A bucket that cannot
        be asked is a problem of the report, not an exception: the local
        checks still stand."""
        try:
            client = self._s3()
            return check_objects(client, self.tier, self.ledger, self._list_segments(), deep=deep,
                                 audit=self._audit)
        except Exception as e:
            return ObjectCheck(problems=[{
                "camera": "", "segment_id": None, "path": self.tier.where, "offset": None,
                "detail": f"the objects of uploaded segments were not checked: {why(e)}; run fsck again when "
                          "the bucket answers"}])

    def relieve(self, needed: int) -> int:
        """Disk pressure asks for ``needed`` bytes (the core calls this
        before it deletes footage: src/store/tier_relief.rs): first the read
        cache, then the local files of uploaded segments, oldest first,
        evicted with the checks of a round (rows kept, footage readable
        from the bucket). Returns the bytes freed. Raises TierError, after
        an audit entry, when the bucket cannot be asked: disk pressure then
        deletes what its rules allow instead."""
        with self._relief:
            freed = self.cache.free_for_pressure(needed)
            if freed >= needed or self.reader:  # a view holds no local segment files to evict
                return freed
            try:
                client, segments = self._s3(), self._list_segments()
                evicted, evicted_bytes, _ = evict_for_space(client, self.tier, self.root, segments, self.ledger,
                                                            self.holds, self._is_held, needed - freed)
            except Exception as e:
                message = str(e) if isinstance(e, TierError) else f"{self.tier.where}: {why(e)}"
                self._audit("tier_pressure_evict", "failed", f"disk pressure could not evict to the tier: "
                            f"{message}; the oldest footage the rules allow is deleted instead")
                raise TierError(message) from None
            if evicted:
                self._audit("tier_evicted", "done", f"disk pressure: {len(evicted)} segments evicted "
                            f"({evicted_bytes} bytes), now in {self.tier.where} only; "
                            f"{freed} bytes of read cache dropped")
            return freed + evicted_bytes

    def _set_alarm(self, report: SyncReport) -> None:
        """Raised by a failed round; ended by a round that uploaded, or
        that found nothing left to upload (a round with nothing due proves
        nothing about the bucket)."""
        waiting = len(backlog(self._list_segments(), self.ledger))
        if report.failed:
            alarm = (f"uploads to {self.tier.where} are failing ({report.failed[0][1]}); {waiting} sealed "
                     "segments wait on local disk only; recording continues and they upload when the bucket "
                     "answers again")
            if self._alarm is None:
                self._audit("tier_upload_failing", "raised", alarm)
            self._alarm = alarm
            self.ledger.put("alarm", alarm)
        elif self._alarm is not None and (report.uploaded or waiting == 0):
            self._audit("tier_upload_failing", "ended", f"uploads to {self.tier.where} work again")
            self._alarm = None
            self.ledger.put("alarm", None)

    def start(self) -> None:
        if self._thread is None and not self.reader:
            self._thread = threading.Thread(target=self._run, name="vidvault-tier-upload", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        wait = ROUND_SECONDS
        while not self._stop.wait(wait):
            report = self.sync()
            wait = min(wait * 2, MAX_BACKOFF_SECONDS) if report.failed else ROUND_SECONDS

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._relief, self._legal_holds:  # a relief or reconciliation in flight finishes first
            self.ledger.close()

    def status(self) -> TierStatus:
        uploads = self.ledger.uploads()
        waiting = backlog(self._list_segments(), self.ledger)
        remote = [u for u in uploads.values() if u.evicted_ns is not None]
        cached, cached_bytes = self.cache.size()
        t = self.tier
        return TierStatus(
            configured=True, endpoint=t.endpoint, bucket=t.bucket, prefix=t.prefix, upload_after=t.upload_after,
            keep_local=t.keep_local, holds=self.holds, uploaded_segments=len(uploads),
            uploaded_bytes=sum(u.bytes for u in uploads.values()), backlog_segments=len(waiting),
            backlog_bytes=sum(s.bytes or 0 for s in waiting), alarm=self._alarm,
            remote_only_segments=len(remote), remote_only_bytes=sum(u.bytes for u in remote),
            cache_segments=cached, cache_bytes=cached_bytes, cache_cap_bytes=t.read_cache_bytes,
            read_only=self.reader,
        )

    def remote_only(self) -> dict[int, int]:
        """Segment id -> bytes of every segment whose local file was evicted."""
        return {i: u.bytes for i, u in self.ledger.uploads().items() if u.evicted_ns is not None}
