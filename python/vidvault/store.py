"""The public ``Store``: a context-managed handle over the Rust core.

It converts times (int ns, aware ``datetime`` or ISO-8601 strings), keeps
keyword-only options, and returns typed records. Every call into the core
releases the GIL for its I/O and cryptography, so many threads can write
many cameras at once.
"""

from __future__ import annotations

import functools
import getpass
import json
import os
import time
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

from . import _core
from .audit import AuditEntry, AuditReport, verify_store_audit_log
from .default_redaction import DEFAULT_REDACTION
from .errors import InvalidArgumentError, ReadOnlyStoreError, TierError
from .keys import coerce_key
from .records import FsckReport, Gap, Problem, RebuildReport, Recovered
from .retention import (
    Hold,
    Retention,
    RetentionLike,
    StorageStatus,
    SweepReport,
    setting_from_core,
    setting_to_core,
)
from .tier import S3Tier, TierStatus
from .tier import restore as tier_restore
from .tier import settings as tier_settings
from .tier.link import TierLink
from .tier.replica import Sealer
from .tier.restore import RestoreReport
from .tier.upload import SyncReport
from .timeline import Timeline, timeline
from .timeutil import TimeLike, duration_ns, to_ns

if TYPE_CHECKING:
    from .availability import AvailabilityReport
    from .export.c2pa import C2paCredentials
    from .export.package import ExportResult
    from .grant_window import GrantWindow, WindowedFootage
    from .picture_check import PictureAlarm, Thresholds
    from .picture_check.watch import PictureWatch
    from .redact.config import Redaction
    from .redact.player import PlayedFrame
    from .session import Session

# Playback, export, availability, picture checks and sessions import their
# modules where they are called: those pull in PyAV, numpy, the detectors and
# the C2PA signer, and a process that only ingests or records must not spend
# its start-up importing them.

Frame = _core.Frame
Writer = _core.Writer
Camera = _core.Camera
Segment = _core.Segment
CodecConfig = _core.CodecConfig

FAR_PAST = -(2**63)
FAR_FUTURE = 2**63 - 1


def _options(
    sync_interval: float | timedelta | None,
    roll_after: float | timedelta | None,
    roll_bytes: int | None,
    gap_threshold: float | timedelta | None,
    io_threads: int | None,
    min_free_bytes: int | str | None,
    commit_mode: str | None = None,
    max_clock_skew: float | timedelta | None = None,
) -> dict[str, Any]:
    """The core's store options, named as this API names them. An option the
    caller left as None is not passed, so its default is the core's own
    (StoreOptions::default), written in one place."""
    from .retention import parse_size

    def secs(v: float | timedelta) -> float:
        return duration_ns(v) / 1e9

    given = {
        "sync_interval": None if sync_interval is None else secs(sync_interval),
        "roll_after": None if roll_after is None else secs(roll_after),
        "roll_bytes": None if roll_bytes is None else int(roll_bytes),
        "gap_threshold": None if gap_threshold is None else secs(gap_threshold),
        "io_threads": None if io_threads is None else int(io_threads),
        "min_free_bytes": None if min_free_bytes is None else parse_size(min_free_bytes),
        "commit_mode": commit_mode,
        "max_clock_skew": None if max_clock_skew is None else secs(max_clock_skew),
    }
    return {name: value for name, value in given.items() if value is not None}


def _check_copied_log(root: Path, master: bytes, outcome: str) -> None:
    """The snapshot's log with its tail appended, copied from the bucket:
    every hash, checkpoint and the signed head checked from entry 1
    (opening checks only the entries after the recorded head)."""
    log = verify_store_audit_log(root, master)
    if log.problem is not None:
        raise TierError(f"the audit log rebuilt from the bucket does not verify at entry {log.problem_seq}: "
                        f"{log.problem}; {outcome}")


def _changes_the_store(method: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a method that changes the store or its bucket: refused on a
    read-only view (:meth:`Store.open_remote`). A view's catalog, keys and
    holds are the recorder's as of a snapshot; a change made there would
    be the view's alone, or (through the tier) would act on the recorder's
    objects."""

    @functools.wraps(method)
    def refused_on_a_view(self: "Store", *args: Any, **kwargs: Any) -> Any:
        if self.read_only:
            self._refuse(method.__name__)
        return method(self, *args, **kwargs)

    return refused_on_a_view


class Store:
    """An encrypted, time-indexed store of camera footage.

    >>> with Store.create(path, key=key) as store:          # doctest: +SKIP
    ...     store.add_camera("34020000001320000001")
    ...     with store.writer("34020000001320000001", codec="h264", extradata=avcc) as w:
    ...         w.append(ts_ns, data, keyframe=True)
    """

    def __init__(self, core: _core.Store, *, operator: str | None = None, tier_uploads: bool = True) -> None:
        self._core = core
        self._operator = _operator_name(operator)
        self._tier_uploads = tier_uploads
        try:
            self._tier = TierLink.load(self.path, self.store_id, self._sealed_segments, self._tier_audit,
                                       self._is_held, self._replica_sealer())
        except BaseException:
            core.close()
            raise
        if self._tier is not None:
            self._connect_tier()
            if tier_uploads:
                self._tier.start()  # (a view's tier never uploads: TierLink.start does nothing)

    @property
    def read_only(self) -> bool:
        """A read-only view of another node's store (:meth:`open_remote`):
        reads, seeks, playback, exports, sessions and checks work; changes
        raise :class:`vidvault.ReadOnlyStoreError`."""
        return self._tier is not None and self._tier.reader

    def _refuse(self, what: str) -> None:
        assert self._tier is not None
        raise ReadOnlyStoreError(
            f"store {self.path} is a read-only view of store {self.store_id} in {self._tier.tier.where} "
            f"(Store.open_remote): {what} is refused here; do it on the recorder that owns that bucket prefix, "
            "then open a new view to see it", path=str(self.path))

    # -------------------------------------------------------------- lifecycle

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        key: bytes | str,
        sync_interval: float | timedelta = 1.0,
        roll_after: float | timedelta = 300.0,
        roll_bytes: int = 256 << 20,
        gap_threshold: float | timedelta | None = None,
        io_threads: int = 4,
        min_free_bytes: int | str | None = None,
        commit_mode: str = "syncfs",
        max_clock_skew: float | timedelta | None = None,
        operator: str | None = None,
    ) -> "Store":
        """Creates a store in a new or empty directory.

        ``sync_interval``: group-commit period (frames are durable at most this
        long after ``append``). ``roll_after``/``roll_bytes``: a new segment
        starts at the first keyframe after this much footage or size.
        ``gap_threshold``: a jump in frame time larger than this is a gap
        (default: the core's, 2 s).
        ``min_free_bytes``: free-space floor under which the oldest deletable
        footage is reclaimed (default 1 GiB, at most 5% of the filesystem).
        ``commit_mode``: "syncfs" (one filesystem sync per commit for all
        cameras, the default) or "fdatasync" (one per camera; for stores on a
        filesystem shared with busy neighbours).
        ``max_clock_skew``: how far ahead of this host's clock a frame's time
        may be (default 1 day); later frames are refused, since one frame in
        the far future would make the camera refuse every frame before it.
        ``operator``: who uses this handle, named in the audit entry of every
        retrieval made through it (default: the OS user running the process).
        """
        opts = _options(sync_interval, roll_after, roll_bytes, gap_threshold, io_threads, min_free_bytes, commit_mode,
                        max_clock_skew)
        name = _operator_name(operator)  # refuse a bad name before creating anything
        return cls(_core.Store.create(os.fspath(path), coerce_key(key), **opts), operator=name)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        key: bytes | str,
        rebuild_catalog: bool = False,
        sync_interval: float | timedelta = 1.0,
        roll_after: float | timedelta = 300.0,
        roll_bytes: int = 256 << 20,
        gap_threshold: float | timedelta | None = None,
        io_threads: int = 4,
        min_free_bytes: int | str | None = None,
        commit_mode: str = "syncfs",
        max_clock_skew: float | timedelta | None = None,
        operator: str | None = None,
        tier_uploads: bool = True,
    ) -> "Store":
        """Opens a store; unsealed segments left by a crash are recovered.

        With ``rebuild_catalog=True`` the catalog is first rebuilt from the
        segment files (use when it is missing or damaged). ``operator``: who
        uses this handle, named in the audit entry of every retrieval made
        through it (default: the OS user running the process).
        ``tier_uploads``: with a tier set (:meth:`set_tier`), upload sealed
        segments on a background thread while the store is open (False:
        only :meth:`sync_tier` uploads).
        """
        opts = _options(sync_interval, roll_after, roll_bytes, gap_threshold, io_threads, min_free_bytes, commit_mode,
                        max_clock_skew)
        name = _operator_name(operator)
        core = _core.Store.open(os.fspath(path), coerce_key(key), rebuild_catalog=rebuild_catalog, **opts)
        return cls(core, operator=name, tier_uploads=tier_uploads)

    @classmethod
    def restore(
        cls,
        url: str,
        path: str | os.PathLike[str],
        *,
        key: bytes | str,
        endpoint: str,
        store_id: str | None = None,
        snapshot: int | None = None,
        region: str = "us-east-1",
        profile: str | None = None,
        operator: str | None = None,
    ) -> RestoreReport:
        """Rebuilds a working store in ``path`` (new or empty; mode 0700)
        from the replica of its metadata in ``url`` (``s3://BUCKET/PREFIX``),
        for a recorder whose disk died: the newest snapshot (or
        ``snapshot``), checked from the master key outward, every segment
        read back from the bucket. ``store_id``: which store, when several
        share the prefix. Audited in the restored log. docs/STORAGE.md."""
        master = coerce_key(key)
        name = _operator_name(operator)

        def finish(root: Path, adopt: Callable[..., dict[str, Any]]) -> None:
            _check_copied_log(root, master, "nothing was restored")
            with cls.open(root, key=master, operator=name, tier_uploads=False) as store:
                store._adopt_restored_segments(adopt, name)

        return tier_restore.restore(url, path, master, endpoint=endpoint, store_id=store_id, snapshot=snapshot,
                                    region=region, profile=profile, open_keys=_core.ReplicaKeys.restore,
                                    finish=finish)

    @classmethod
    def open_remote(
        cls,
        url: str,
        path: str | os.PathLike[str],
        *,
        key: bytes | str,
        endpoint: str,
        store_id: str | None = None,
        snapshot: int | None = None,
        region: str = "us-east-1",
        profile: str | None = None,
        operator: str | None = None,
    ) -> "Store":
        """A read-only view, on another node, of the store whose replica is
        in ``url`` (``s3://BUCKET/PREFIX``), without touching its recorder:
        the newest snapshot and its tail are checked and copied into
        ``path`` (new or empty) as by :meth:`restore`, every segment is read
        from the bucket through the view's own read cache, and the view
        uploads, deletes, locks and replicates nothing there. Search, read,
        play, export, verify and sessions work; changes raise
        :class:`vidvault.ReadOnlyStoreError`. The view shows the store as of
        that snapshot and the segment objects found when it was made; open
        a new one (another ``path``) to see later footage. Its retrievals
        are audited in the view's own log (``path``/audit.sqlite), which
        continues the recorder's chain. Reopen it later with
        :meth:`open`: it stays read-only. docs/STORAGE.md."""
        master = coerce_key(key)
        name = _operator_name(operator)

        def finish(root: Path, adopt: Callable[..., dict[str, Any]]) -> None:
            _check_copied_log(root, master, "no view was made")
            with cls.open(root, key=master, operator=name, tier_uploads=False) as view:
                view._adopt_restored_segments(adopt, name, view=True)

        report = tier_restore.restore(url, path, master, endpoint=endpoint, store_id=store_id, snapshot=snapshot,
                                      region=region, profile=profile, open_keys=_core.ReplicaKeys.restore,
                                      finish=finish, role=tier_settings.READER)
        view = cls.open(path, key=master, operator=name)
        view.remote_report = report
        return view

    #: What :meth:`open_remote` found (snapshot, segments, missing ones); None on other handles.
    remote_report: RestoreReport | None = None

    def _adopt_restored_segments(self, adopt: Callable[..., dict[str, Any]], operator: str, *,
                                 view: bool = False) -> None:
        """The last step of :meth:`restore` (and of :meth:`open_remote`,
        ``view``), in the copied store: every segment recorded as remote
        (and those uploaded after the snapshot catalogued), ids reserved
        past every object seen (a view writes no segment: none), the
        restore or the view audited."""
        assert self._tier is not None, "a restored store has its tier"
        details = adopt(self._sealed_segments(), self._tier.ledger, self._core.index_segment_file)
        ids_through = details.pop("ids_through")
        if not view:
            self._core.reserve_segment_ids_through(ids_through)
        self._core.audit_record(operator, "remote_view_opened" if view else "store_restored", outcome="done",
                                reason=details.pop("reason"), details=json.dumps(details))

    def close(self) -> None:
        """Stops the tier's uploader, seals open segments, syncs, and
        releases the store lock."""
        if self._tier is not None:
            self._disconnect_tier()
            self._tier.stop()
            self._tier = None
        self._core.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store(path={str(self.path)!r}, id={self.store_id})"

    @property
    def path(self) -> Path:
        return Path(self._core.path)

    @property
    def store_id(self) -> str:
        return self._core.store_id

    @property
    def operator(self) -> str:
        """Who this trusted handle's retrievals are logged as."""
        return self._operator

    @property
    def recovery_report(self) -> list[Recovered]:
        """Segments that recovery repaired, sealed or removed on open."""
        return [Recovered(**r) for r in self._core.recovery_report()]

    # -------------------------------------------------------------- cameras

    @_changes_the_store
    def add_camera(
        self,
        camera_id: str,
        *,
        labels: Mapping[str, str] | None = None,
        retention: RetentionLike = None,
    ) -> Camera:
        """Registers a camera. Any printable string works as an id; see
        :func:`vidvault.is_gb28181_id` to validate 20-digit GB/T 28181 ids.
        ``retention``: a class name ("general", "key-site"...), a
        :class:`Retention` of the camera's own, or None for the store default."""
        return self._core.add_camera(camera_id, dict(labels or {}), setting_to_core(retention))

    @_changes_the_store
    def set_labels(self, camera_id: str, labels: Mapping[str, str]) -> Camera:
        return self._core.set_labels(camera_id, dict(labels))

    def camera(self, camera_id: str) -> Camera:
        return self._core.camera(camera_id)

    def cameras(self) -> list[Camera]:
        return self._core.cameras()

    # -------------------------------------------------------------- retention

    @_changes_the_store
    def set_retention(self, camera_id: str, retention: RetentionLike) -> Camera:
        """A class name, a :class:`Retention` of its own, or None (store default)."""
        return self._core.set_retention(camera_id, setting_to_core(retention))

    def retention(self, camera_id: str) -> tuple[str, Retention]:
        """The policy in force for a camera and where it comes from
        ("class general", "custom")."""
        source, policy = self._core.effective_retention(camera_id)
        return source, Retention._from_core(policy)

    def camera_retention(self, camera_id: str) -> RetentionLike:
        """What the camera is set to: a class name, its own Retention, or None."""
        return setting_from_core(self._core.camera(camera_id).retention)

    @_changes_the_store
    def define_retention_class(self, name: str, retention: Retention) -> None:
        """Creates or changes a named class; every camera in it follows."""
        self._core.define_retention_class(name, retention._core_tuple())

    def retention_classes(self) -> dict[str, Retention]:
        return {n: Retention._from_core(p) for n, p in self._core.retention_classes()[1]}

    @property
    def default_retention_class(self) -> str:
        return self._core.retention_classes()[0]

    @_changes_the_store
    def set_default_retention_class(self, name: str) -> None:
        self._core.set_default_retention_class(name)

    @_changes_the_store
    def hold(
        self,
        camera: str,
        start: TimeLike,
        end: TimeLike,
        *,
        case: str,
        actor: str,
        reason: str = "",
        until: TimeLike | None = None,
    ) -> Hold:
        """Places a legal hold ("evidence lock") on ``[start, end)`` of a
        camera; returns it (``release`` takes its ``id``). Held footage is
        never deleted or shredded by any path (age, size, disk pressure) until
        released or ``until``. On a tier whose bucket enforces Object Lock,
        the objects of the held segments get S3 legal holds too
        (docs/STORAGE.md)."""
        hold = self._core.hold(camera, to_ns(start), to_ns(end), case=case, reason=reason, actor=actor,
                               until=None if until is None else to_ns(until))
        self._mirror_legal_holds()
        return hold

    @_changes_the_store
    def release(self, hold_id: int, *, actor: str) -> Hold:
        """Releases a hold; its footage falls back under normal retention
        (and the S3 legal holds of objects no other hold covers are lifted)."""
        hold = self._core.release_hold(hold_id, actor=actor)
        self._mirror_legal_holds()
        return hold

    def _mirror_legal_holds(self) -> None:
        """The hold itself is in force whatever the bucket answers: a
        failure is audited (tier_legal_hold / failed), the segments stay
        local (eviction wants the object's hold on) and the next upload
        round tries again."""
        if self._tier is None:
            return
        try:
            self._tier.mirror_legal_holds()
        except TierError:
            pass

    def holds(self, camera: str | None = None, *, active: bool | None = None) -> list[Hold]:
        """Holds, oldest first; ``active=True`` only those in force now."""
        holds = self._core.holds(camera)
        if active is None:
            return holds
        now = time.time_ns()
        return [h for h in holds if h.active_at(now) == active]

    def enforce_retention(
        self, now: TimeLike | None = None, *, dry_run: bool = False, actor: str = "retention"
    ) -> SweepReport:
        """Deletes whole sealed segments past their camera's ``max_age`` or
        over its ``max_bytes`` (never held ones, never the open segment),
        then crypto-shreds the keys of days left without footage. ``now`` is
        injectable on this trusted handle only (tests, "what if" runs; a
        session always sweeps at the clock's time); ``dry_run`` changes
        nothing."""
        if self.read_only and not dry_run:
            self._refuse("enforce_retention (other than a dry run)")
        r = self._core.enforce_retention(None if now is None else to_ns(now), dry_run, actor)
        return SweepReport._from_core(r)

    def storage_status(self) -> StorageStatus:
        """Free space, the floor, and the alarm if raised: disk pressure,
        or uploads to the tier failing (segments piling up on local disk)."""
        return self._with_tier(self._core.storage_status())

    def check_disk_pressure(self) -> StorageStatus:
        """Checks free space now (a background thread does it every second)
        and reclaims the oldest deletable footage when under the floor."""
        return self._with_tier(self._core.check_disk_pressure())

    def _with_tier(self, status: dict[str, Any]) -> StorageStatus:
        """The core's disk figures, with the tier's alarm, and the sealed
        footage split into what is on this disk and what only the bucket holds."""
        tier_alarm = None if self._tier is None else self._tier.alarm
        if tier_alarm:
            status["alarm"] = "; ".join(a for a in (status.get("alarm"), tier_alarm) if a)
        remote = {} if self._tier is None else self._tier.remote_only()
        sealed = self._sealed_segments()
        status["local_segments"] = sum(1 for seg in sealed if seg.id not in remote)
        status["local_bytes"] = sum(seg.bytes or 0 for seg in sealed if seg.id not in remote)
        status["remote_only_segments"] = sum(1 for seg in sealed if seg.id in remote)
        status["remote_only_bytes"] = sum(seg.bytes or 0 for seg in sealed if seg.id in remote)
        return StorageStatus(**status)

    # -------------------------------------------------------------- object-storage tier

    @_changes_the_store
    def set_tier(self, tier: S3Tier) -> TierStatus:
        """Sends sealed segments to ``tier`` (a :class:`vidvault.S3Tier`)
        from now on. Checks first that the bucket exists and the credentials
        (from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` or a profile)
        may use it, and probes whether the bucket enforces Object Lock legal
        holds; raises :class:`vidvault.TierError` naming endpoint and bucket
        otherwise. The tier's settings, never the credentials, are kept in
        the store (``tier.json``), so a reopened store uploads on. Audited."""
        current = self._tier
        if current is not None and current.tier.destination != tier.destination and current.ledger.uploads():
            raise TierError(
                f"this store already uploads to {current.tier.where} (prefix {current.tier.prefix!r}); moving its "
                "segments to another bucket or prefix is not supported yet")
        client = tier.client()
        tier.check(client)
        holds = tier.probe_object_lock(client)
        if current is not None:
            self._disconnect_tier()
            current.stop()
            self._tier = None
        tier_settings.save(self.path, tier, holds)
        self._core.audit_record(
            self._operator, "tier_set", outcome="done", reason=f"segments go to {tier.where}",
            details=json.dumps({"endpoint": tier.endpoint, "bucket": tier.bucket, "prefix": tier.prefix,
                                "upload_after": tier.upload_after, "keep_local": tier.keep_local,
                                "holds": holds}, sort_keys=True))
        self._tier = TierLink(self.path, self.store_id, tier, holds, self._sealed_segments, self._tier_audit,
                              self._is_held, self._replica_sealer())
        self._connect_tier()
        if self._tier_uploads:
            self._tier.start()
        return self._tier.status()

    def tier_status(self) -> TierStatus:
        """The tier, what is uploaded, the backlog waiting on local disk,
        the hold guarantee the bucket gives, and the upload alarm if raised."""
        return TierStatus(configured=False) if self._tier is None else self._tier.status()

    @_changes_the_store
    def sync_tier(self, *, progress: Callable[[int, int, Segment], None] | None = None) -> SyncReport:
        """Uploads every sealed segment that is due now (one round;
        ``progress(done, total, segment)`` after each), then sends a
        snapshot of the store's metadata to the bucket, for
        :meth:`restore`. Failures are in the report and raise the alarm,
        never an exception: the backlog waits."""
        if self._tier is None:
            raise TierError(f"store {self.path} has no tier: set one first (Store.set_tier, vidvault tier set)")
        return self._tier.sync(progress=progress, force_replica=True)

    def _connect_tier(self) -> None:
        """The core reads evicted segments through the tier's read cache,
        and disk pressure asks the tier to free space before it deletes."""
        self._core.set_remote_fetch(self._tier.cache.fetch)
        self._core.set_tier_relief(self._tier.relieve)

    def _disconnect_tier(self) -> None:
        self._core.set_remote_fetch(None)
        self._core.set_tier_relief(None)

    def _sealed_segments(self) -> list[Segment]:
        return [s for cam in self._core.cameras() for s in self._core.segments(cam.id, FAR_PAST, FAR_FUTURE)
                if s.state == "sealed"]

    def _replica_sealer(self) -> Sealer:
        """The core's sealing of replica blobs and its signing of their
        manifest: the keys never leave the core."""
        return Sealer(keystore=self._core.seal_keystore_replica, blob=self._core.seal_replica_blob,
                      sign=self._core.sign_export, keystore_tail=self._core.seal_keystore_tail)

    def _is_held(self, segment: Segment) -> bool:
        """Whether an active legal hold covers any of ``segment``'s footage."""
        now, end = time.time_ns(), segment.end if segment.end is not None else FAR_FUTURE
        return any(h.active_at(now) and h.start < end and segment.start < h.end
                   for h in self._core.holds(segment.camera))

    def _tier_audit(self, action: str, outcome: str, reason: str) -> None:
        self._core.audit_record("tier", action, outcome=outcome, reason=reason)

    @_changes_the_store
    def rotate_master_key(self, new_key: bytes | str, *, actor: str = "operator") -> None:
        """Re-wraps every key under ``new_key``; no video is rewritten. After
        a crash midway the old or the new key opens the store. Audited."""
        self._core.rotate_master_key(coerce_key(new_key), actor=actor)

    # -------------------------------------------------------------- access and audit

    def session(self, principal: str, grants: Sequence[str] = (), *, purpose: str = "") -> Session:
        """A principal's view of the store: each call is checked against the
        signed ``grants`` and logged. Without grants: desensitized viewing only."""
        from .session import Session
        return Session(self, self._core.authorize, principal, grants, purpose=purpose, footage=self._through)

    def _through(self, window: GrantWindow) -> WindowedFootage:
        """Footage clamped to a grant's window, for a session that has
        checked and logged its request (so not logged again here)."""
        from .grant_window import WindowedFootage
        return WindowedFootage(self._core, window)

    def _log_retrieval(self, action: str, call: str, camera: str, start: int, end: int) -> None:
        """One audit entry per retrieval call on this trusted handle, written
        before anything is read (never one per frame)."""
        self._core.audit_record(
            self._operator, action, outcome="allowed", camera=camera, start=start, end=end,
            reason="trusted handle (no session)", details=json.dumps({"call": call}),
        )

    def issue_grant(
        self,
        *,
        to: str,
        actions: Sequence[str],
        cameras: Sequence[str],
        valid_until: TimeLike,
        case: str,
        issued_by: str,
        footage_from: TimeLike | None = None,
        footage_to: TimeLike | None = None,
        valid_from: TimeLike | None = None,
        purpose: str = "",
        approver: str | None = None,
    ) -> str:
        """Signs a grant with the store's admin key and returns its token.
        ``cameras``: selectors: an id, ``"PREFIX*"``, ``"label:KEY=VALUE"``,
        ``"id:ID"`` or ``"*"`` (the whole store); see docs/security/grants.md.
        Export grants need an ``approver``. Issuance is audited."""
        return self._core.issue_grant(
            to, list(actions), list(cameras),
            valid_from=time.time_ns() if valid_from is None else to_ns(valid_from),
            valid_until=to_ns(valid_until), case=case, issued_by=issued_by,
            footage_from=None if footage_from is None else to_ns(footage_from),
            footage_to=None if footage_to is None else to_ns(footage_to),
            purpose=purpose, approver=approver,
        )

    def admin_public_key(self) -> bytes:
        """Ed25519 public key that verifies this store's grant tokens."""
        return self._core.admin_public_key()

    def audit(self, camera: str | None = None, *, since: TimeLike | None = None,
              limit: int = 1_000_000, action: str | None = None) -> list[AuditEntry]:
        """Audit entries, oldest first, optionally of one ``camera`` and one
        ``action`` (the trusted path: no grant check)."""
        rows = self._core.audit_entries(camera, None if since is None else to_ns(since), limit, action)
        return [AuditEntry._from_core(r) for r in rows]

    def audit_record(self, principal: str, action: str, *, outcome: str, camera: str | None = None,
                     start: TimeLike | None = None, end: TimeLike | None = None, reason: str = "",
                     case: str = "", grant_id: str = "", details: dict[str, Any] | None = None) -> AuditEntry:
        """Logs something a front end saw or did that no grant check logs
        (a refused token, an export request or its approval): one entry in
        the same hash-chained log. ``outcome``: "allowed", "denied" or "done"."""
        r = self._core.audit_record(
            principal, action, outcome=outcome, camera=camera,
            start=None if start is None else to_ns(start), end=None if end is None else to_ns(end),
            reason=reason, case=case, grant_id=grant_id, details=json.dumps(details or {}, sort_keys=True))
        return AuditEntry._from_core(r)

    def verify_grant(self, token: str) -> tuple[dict[str, Any] | None, str | None]:
        """The grant ``token`` carries, checked now against this store's
        admin key, id and the grant's validity period: ``(grant, None)``,
        or ``(None, why it is refused)``. For a front end that knows its
        caller by the token presented (``vidvault serve``); logs nothing."""
        return self._core.verify_grant(token)

    def audit_entry(self, seq: int) -> AuditEntry | None:
        r = self._core.audit_entry(seq)
        return None if r is None else AuditEntry._from_core(r)

    def audit_head(self) -> tuple[int, bytes]:
        """(sequence number, hash) of the newest audit entry."""
        return self._core.audit_head()

    def audit_verify(self) -> AuditReport:
        """Recomputes the hash chain and checks every signed checkpoint and
        the signed head against this store's key."""
        return AuditReport(**self._core.audit_verify())

    # -------------------------------------------------------------- writing

    @_changes_the_store
    def writer(
        self,
        camera: str,
        *,
        codec: str,
        extradata: bytes = b"",
        time_base: Fraction | tuple[int, int] = Fraction(1, 1_000_000_000),
        width: int = 0,
        height: int = 0,
        params: Mapping[str, Any] | None = None,
    ) -> Writer:
        """Opens the camera's writer (one per camera at a time).

        ``codec`` is the FFmpeg codec name ("h264", "hevc"...); ``extradata``
        the codec configuration (avcC/hvcC or Annex B parameter sets);
        ``time_base`` the unit of the pts/dts/duration given to ``append``.
        """
        tb = Fraction(*time_base) if isinstance(time_base, tuple) else Fraction(time_base)
        return self._core.writer(
            camera,
            codec,
            extradata=bytes(extradata),
            time_base=(tb.numerator, tb.denominator),
            width=width,
            height=height,
            params=json.dumps(dict(params or {}), sort_keys=True),
        )

    # -------------------------------------------------------------- reading

    def read(self, camera: str, start: TimeLike, end: TimeLike) -> Iterator[Frame]:
        """Frames of ``[start, end)`` in decode order, beginning at the
        keyframe at or before ``start`` (so the first frame decodes). The
        call is audited as the handle's ``operator``."""
        s, e = to_ns(start), to_ns(end)
        self._log_retrieval("view_raw", "read", camera, s, e)
        return self._core.read(camera, s, e)

    def play(
        self,
        camera: str,
        start: TimeLike,
        end: TimeLike,
        *,
        redact: Redaction | None = DEFAULT_REDACTION,
        raw: bool = False,
    ) -> Iterator[PlayedFrame]:
        """Decoded pictures of ``[start, end)`` in presentation order, faces
        and licence plates hidden: ``PlayedFrame(ts, image, boxes, redacted)``
        with ``image`` an ``HxWx3 uint8`` **RGB** array.

        ``redact``: a :class:`vidvault.Redaction` (default settings if
        omitted). Raw, unredacted pictures only with ``raw=True`` (and no
        ``redact``). Fail-closed: a missing model, a detector error or a
        decode error raises; no picture is ever yielded unredacted. The call
        is audited (``view_raw`` or ``view_redacted``) as the handle's
        ``operator``.
        """
        from .redact.config import chosen_redaction
        from .redact.footage import play
        redaction = chosen_redaction(redact, raw, "play")
        s, e = to_ns(start), to_ns(end)
        self._log_retrieval("view_raw" if redaction is None else "view_redacted", "play", camera, s, e)
        return play(self._core, camera, s, e, redaction)

    def seek(self, camera: str, ts: TimeLike) -> Frame | None:
        """The keyframe playback of ``ts`` starts from (None if no footage).
        Audited as the handle's ``operator``."""
        t = to_ns(ts)
        self._log_retrieval("view_raw", "seek", camera, t, t + 1)
        return self._core.seek(camera, t)

    def segments(
        self, camera: str, start: TimeLike | None = None, end: TimeLike | None = None
    ) -> list[Segment]:
        s = FAR_PAST if start is None else to_ns(start)
        e = FAR_FUTURE if end is None else to_ns(end)
        return self._core.segments(camera, s, e)

    def gaps(
        self,
        camera: str,
        start: TimeLike,
        end: TimeLike,
        *,
        min_gap: float | timedelta | None = None,
    ) -> list[Gap]:
        """Stretches of ``[start, end)`` without footage, at least ``min_gap``
        long (default: the store's gap threshold)."""
        mg = None if min_gap is None else duration_ns(min_gap)
        return [Gap(s, e) for s, e in self._core.gaps(camera, to_ns(start), to_ns(end), mg)]

    def timeline(self, camera: str, start: TimeLike, end: TimeLike) -> Timeline:
        """Segments, gaps and holds of ``camera`` over ``[start, end)``
        (:mod:`vidvault.timeline`): metadata for a scrub bar."""
        s, e = to_ns(start), to_ns(end)
        self._core.camera(camera)  # UnknownCameraError, naming it, before anything else
        return timeline(self, camera, s, e)

    def availability(self, start: TimeLike, end: TimeLike, *,
                     cameras: Sequence[str] | None = None, pictures: bool = False,
                     every: float | timedelta | str = 60.0) -> AvailabilityReport:
        """Per camera (default: all), the share of ``[start, end)`` with
        footage and the outages (stretches without), from the catalog
        (:mod:`vidvault.availability`; a camera added during the period is
        counted from when it was added). ``pictures=True`` also runs
        :meth:`check_pictures` (one keyframe per ``every``): footage showing
        no picture then counts as missing for the intact rate."""
        from .availability import availability
        checks = (lambda camera, s, e: self.check_pictures(camera, s, e, every=every)) if pictures else None
        return availability(self, start, end, cameras, check_pictures=checks)

    def check_pictures(self, camera: str, start: TimeLike, end: TimeLike, *,
                       every: float | timedelta | str = 10.0,
                       thresholds: Thresholds | None = None) -> list[PictureAlarm]:
        """Zombie-camera checks over the stored footage of ``[start, end)``:
        one keyframe per ``every`` decoded and judged black, uniform (lens
        covered), frozen or moved (:mod:`vidvault.picture_check`). Returns the
        alarms in time order, each with its last good and first bad keyframe
        (open ones have ``ended=None``). Audited as one raw retrieval."""
        s, e = to_ns(start), to_ns(end)
        self.camera(camera)  # an unknown camera fails here, by name
        self._log_retrieval("view_raw", "check_pictures", camera, s, e)
        from .picture_check.sampling import check_stored_pictures
        return check_stored_pictures(self._core, camera, s, e, duration_ns(every), thresholds)

    def watch_pictures(self, camera: str, *, start: TimeLike | None = None,
                       every: float | timedelta | str = 10.0,
                       thresholds: Thresholds | None = None) -> PictureWatch:
        """The same checks while ``camera`` records: ``watch.advance(until)``
        judges the footage stored since the previous call (from ``start``,
        default now). Every alarm raised or ended goes to the audit log
        (action ``picture_alarm``, outcome ``raised`` or ``ended``); the
        watch itself is audited once, as a raw retrieval from ``start`` on."""
        self.camera(camera)
        s = time.time_ns() if start is None else to_ns(start)
        self._log_retrieval("view_raw", "watch_pictures", camera, s, FAR_FUTURE)
        from .picture_check.watch import PictureWatch
        return PictureWatch(self._core, camera, start=s, every_ns=duration_ns(every), thresholds=thresholds,
                            on_change=self._log_picture_alarm)

    @_changes_the_store
    def record_outage(self, camera: str, *, start: int, end: int | None, cause: str | None, reason: str) -> None:
        """A live source's outage as the recording process saw it, with its
        cause (unreachable, unauthorized, stream-ended, ...), into the audit
        log: ``availability`` then names the cause of each gap. Written once
        when it begins (outcome ``raised``) and once when it ends
        (``ended``); ``reason`` never holds the source's password."""
        self._core.audit_record(
            self._operator, "camera_outage", camera=camera, outcome="raised" if end is None else "ended",
            start=start, end=max(end or 0, start + 1), reason=reason, details=json.dumps({"cause": cause}),
        )

    def _log_picture_alarm(self, alarm: PictureAlarm) -> None:
        from .picture_check import AlarmKind

        self._core.audit_record(
            self._operator, "picture_alarm", camera=alarm.camera,
            outcome="ended" if alarm.ended is not None and alarm.kind is not AlarmKind.MOVED else "raised",
            start=alarm.first_bad, end=(alarm.first_bad + 1) if alarm.ended is None else max(alarm.ended,
                                                                                          alarm.first_bad + 1),
            reason=alarm.describe(), details=json.dumps(alarm.to_dict()),
        )

    def segment_config(self, segment_id: int) -> CodecConfig:
        """Codec configuration needed to decode frames of that segment."""
        return self._core.segment_config(segment_id)

    # -------------------------------------------------------------- integrity

    def fsck(self, *, deep: bool = False) -> FsckReport:
        """Checks headers, footers, content hashes and the hash chain of every
        segment; ``deep`` also authenticates every frame record. With a tier,
        also the bucket: the object of every uploaded segment is there at its
        size (a HEAD each); ``deep`` reads each back and compares its SHA-256
        with the upload's (tier/object_check.py)."""
        r = self._core.fsck(deep)
        problems = [Problem(**p) for p in r["problems"]]
        if self._tier is None:
            return FsckReport(r["segments"], r["frames"], r["bytes"], problems)
        remote = self._tier.check_objects(deep=deep)
        return FsckReport(r["segments"], r["frames"], r["bytes"], problems + [Problem(**p) for p in remote.problems],
                          remote_objects=remote.objects, remote_bytes=remote.bytes_read)

    @_changes_the_store
    def rebuild_catalog(self) -> RebuildReport:
        """Rebuilds the catalog from the segment files (writers must be closed).
        Refused while segments are evicted to the tier: their files are not
        here, and a rebuild would drop their rows (restore from the bucket
        is not built)."""
        if self._tier is not None and self._tier.remote_only():
            raise TierError(f"store {self.path} has {len(self._tier.remote_only())} segments evicted to "
                            f"{self._tier.tier.where}; a catalog rebuilt from local files would lose them, so it "
                            "is refused")
        r = self._core.rebuild_catalog()
        return RebuildReport(r["cameras"], r["segments"], r["repaired"], r["holds"], r["tombstones"],
                             [Problem(**p) for p in r["problems"]])

    def export_public_key(self) -> bytes:
        """Raw Ed25519 public key that verifies this store's export packages."""
        return self._core.export_public_key()

    # -------------------------------------------------------------- export

    def export_clip(
        self,
        camera: str,
        start: TimeLike,
        end: TimeLike,
        out_dir: str | os.PathLike[str],
        *,
        redact: Redaction | None = DEFAULT_REDACTION,
        raw: bool = False,
        watermark: str | None = None,
        case: str | None = None,
        reason: str | None = None,
        actor: str | None = None,
        c2pa: C2paCredentials | None = None,
        authorization: dict[str, Any] | None = None,
        progress: Callable[[PlayedFrame, int], None] | None = None,
    ) -> ExportResult:
        """Writes a signed evidence package of ``camera`` over ``[start, end)``
        to the new directory ``out_dir``, with ``manifest.json``/
        ``manifest.sig``/``signer.pub``. See docs/EXPORT.md.

        Redacted, as :meth:`play` is, unless ``raw=True``: ``redact`` (a
        :class:`vidvault.Redaction`; default settings if omitted) makes
        ``clip.redacted.mp4`` with faces and plates hidden (and
        ``watermark`` burned into it), re-encoded, so not bit-exact, and no
        unredacted video at all; the manifest keeps every stored frame's hash
        and the redaction settings. A detector failure leaves no package.
        ``progress`` is called with each redacted frame and the count so far.

        ``raw=True`` (and no ``redact``): the bit-exact package, ``clip.mp4``
        (starts at ``start``), with ``watermark`` also
        ``clip.watermarked.mp4``. ``c2pa`` adds C2PA content credentials to
        the MP4s.

        Trusted path: the export is audited as ``export`` (redacted) or
        ``export_raw`` by ``actor`` (default: the handle's ``operator``);
        sessions check grants for these actions first and pass what the
        check returned as ``authorization``."""
        from .redact.config import chosen_redaction
        from .export.package import export_clip
        return export_clip(self._core, camera, start, end, out_dir,
                           redaction=chosen_redaction(redact, raw, "export_clip"), watermark_text=watermark,
                           case=case, reason=reason, actor=actor or self._operator, c2pa=c2pa,
                           authorization=authorization, progress=progress)


def _operator_name(operator: str | None) -> str:
    """The name a trusted handle's retrievals are logged under."""
    if operator is None:
        try:
            return getpass.getuser()
        except (KeyError, OSError):  # no user name for this uid (some containers)
            return f"uid:{os.getuid()}"
    if not isinstance(operator, str) or not operator.strip():
        raise InvalidArgumentError(
            "operator must name who uses this store handle (it is written to the audit log); "
            "leave it out to use the OS user")
    return operator


def restore(url: str, path: str | os.PathLike[str], **kw: Any) -> RestoreReport:
    """:meth:`Store.restore`: a store rebuilt from the replica of its metadata in its bucket."""
    return Store.restore(url, path, **kw)
