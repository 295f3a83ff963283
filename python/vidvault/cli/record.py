"""`vidvault record CONFIG [--store DIR]`: every camera of a TOML file
recorded into one store (:class:`vidvault.Recorder`), until SIGTERM.

SIGHUP reads the file again and applies it: new cameras start, removed
ones stop, changed ones restart, the others are not touched. A file that
no longer parses is refused as a whole and the running cameras go on. The
store, key and status file are those of the start: changing them takes a
restart (said so on reload).
SIGTERM (and Ctrl-C) stops every camera with its footage stored and
synced, and exits 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from ..errors import InvalidArgumentError, VidvaultError
from .hints import message_for

if TYPE_CHECKING:
    from ..record import RecordConfig, Recorder


def cmd_record(args: argparse.Namespace) -> int:
    from ..keys import load_key
    from ..record import Recorder, load_config
    from ..store import Store
    from .progress import CameraProgressLog

    config = load_config(args.config)
    store_path = args.store or config.store
    if store_path is None:
        raise InvalidArgumentError(f"{args.config} names no store and --store is not given; add "
                                   "store = \"DIR\" to the file or pass --store DIR")
    args.store_given = args.store is not None
    args.store = str(store_path)  # for the hints of errors below
    stop, reload = threading.Event(), threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        (reload if signum == signal.SIGHUP else stop).set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        with Store.open(store_path, key=load_key(args.key_file or config.key_file)) as store:
            recorder = Recorder(store, config.cameras, status_file=config.status_file,
                                status_interval=config.status_interval, progress=CameraProgressLog(),
                                picture_check_every=config.picture_check_every)
            recorder.start()
            _say(f"recording {len(config.cameras)} camera(s) into {store_path}"
                 + (f"; status in {config.status_file}" if config.status_file else "")
                 + "; SIGHUP reloads the configuration, SIGTERM stops")
            try:
                while not stop.wait(0.5):
                    if reload.is_set():
                        reload.clear()
                        _reload(recorder, config, args)
            finally:
                recorder.stop()
            _say(f"stopped: {len(recorder.cameras)} camera(s), footage stored and synced")
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0


def _reload(recorder: Recorder, started: RecordConfig, args: argparse.Namespace) -> None:
    from ..record import load_config

    try:
        config = load_config(args.config)
        result = recorder.update(config.cameras)
    except VidvaultError as e:
        _say(f"reload refused: {message_for(e, args)}; still recording the cameras of before")
        return
    for key in ("store", "key_file", "status_file", "status_interval"):
        if getattr(config, key) != getattr(started, key) and not (key == "store" and args.store_given):
            _say(f"{key} changed in {args.config}: it takes effect at the next start, not on reload")
    _say(f"reloaded {args.config}: added {_ids(result.added)}, removed {_ids(result.removed)}, "
         f"changed {_ids(result.changed)}, {len(result.unchanged)} unchanged")


def _ids(ids: tuple[str, ...]) -> str:
    return ", ".join(ids) if ids else "none"


def _say(text: str) -> None:
    print(f"vidvault record: {text}", file=sys.stderr, flush=True)


def register(sub: argparse._SubParsersAction) -> None:
    sp = sub.add_parser("record", help="record every camera of a TOML configuration until SIGTERM "
                                       "(SIGHUP reloads it)")
    sp.add_argument("config", help="the configuration: [[camera]] tables with id, url, ... "
                                   "(see examples/record.toml)")
    sp.add_argument("--store", help="store directory (else the file's `store`)")
    sp.add_argument("--key-file", help="master key file (else the file's `key_file`, else $VIDVAULT_KEY)")
    sp.set_defaults(func=cmd_record)
