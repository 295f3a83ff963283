"""Arguments several commands share: the store and its key, acting as a
principal (--as, --grant), and the redaction settings of `play` and
`export-clip`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    from ..redact.config import Redaction
    from ..store import Store


def with_store(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds the STORE argument and --key-file to a subcommand."""
    sp.add_argument("store", help="store directory")
    sp.add_argument("--key-file", help="master key file (else $VIDVAULT_KEY, 64 hex characters)")
    return sp


def open_store(args: argparse.Namespace, **kw: Any) -> Store:
    """Opens the store a `with_store` subcommand names."""
    from ..keys import load_key
    from ..store import Store

    return Store.open(args.store, key=load_key(args.key_file), **kw)


def add_session_args(sp: argparse.ArgumentParser) -> None:
    """--as NAME --grant FILE: act as a principal, checked against its grants."""
    sp.add_argument("--as", dest="as_principal", metavar="NAME", help="act as this principal (checked and audited)")
    sp.add_argument("--grant", action="append", metavar="FILE", help="file with grant token(s), one per line")


def grants_from(args: argparse.Namespace) -> list[str]:
    tokens: list[str] = []
    for path in args.grant or []:
        with open(path) as f:
            tokens.extend(line.strip() for line in f if line.strip())
    return tokens


def session_from(args: argparse.Namespace, store: Store) -> Any:
    """The store itself (trusted caller), or a session when --as is given."""
    if getattr(args, "as_principal", None):
        return store.session(args.as_principal, grants_from(args), purpose=getattr(args, "reason", "") or "")
    return store


#: Redaction settings the command line can tune; unset ones keep
#: vidvault.Redaction's defaults.
TUNING = ("method", "detect_every", "detect_width", "plate_width", "margin", "min_score", "face_tiles",
          "people_detector")


def add_redaction_args(sp: argparse.ArgumentParser, *, raw_help: str) -> None:
    """``--raw`` and the redaction settings (play and export-clip): both
    hide faces and plates unless ``--raw`` is given, as the API does."""
    sp.add_argument("--raw", action="store_true", help=raw_help)
    g = sp.add_argument_group("redaction settings (not with --raw)")
    g.add_argument("--method", choices=["blur", "pixelate", "fill"], help="how regions are hidden (default blur)")
    g.add_argument("--detect-every", type=int, metavar="N", help="run the detectors on every Nth frame")
    g.add_argument("--detect-width", type=int, metavar="PX", help="face detector input width")
    g.add_argument("--plate-width", type=int, metavar="PX", help="plate detector input width")
    g.add_argument("--margin", type=float, help="grow boxes by this fraction of their size per side")
    g.add_argument("--min-score", type=float, help="lowest detector score hidden")
    g.add_argument("--face-tiles", type=float, metavar="X",
                   help="also look for small faces (12-32 px) on tiles enlarged X times (2.0); slower")
    g.add_argument("--no-faces", action="store_true", help="do not look for faces")
    g.add_argument("--no-plates", action="store_true", help="do not look for licence plates")
    g.add_argument("--people", choices=["head", "body", "none"],
                   help="hide the head (default) or whole body of every person found, or none")
    g.add_argument("--people-detector", choices=["motion", "hog"],
                   help="moving person-shaped blobs (default, fixed cameras) or OpenCV's HOG")


def redaction_from(args: argparse.Namespace) -> Redaction | None:
    """The ``Redaction`` the options ask for, or None with ``--raw``. A
    setting given with ``--raw`` is refused: it would otherwise be ignored,
    and the footage handed out unredacted against the caller's intent."""
    from ..redact.config import Redaction

    given = [n for n in (*TUNING, "no_faces", "no_plates", "people") if getattr(args, n) not in (None, False)]
    if args.raw:
        if given:
            raise InvalidArgumentError(
                f"--{given[0].replace('_', '-')} is a redaction setting and --raw is unredacted; "
                "leave one of them out")
        return None
    tuning = {n: getattr(args, n) for n in TUNING if getattr(args, n) is not None}
    if args.people is not None:
        tuning["people"] = None if args.people == "none" else args.people
    return Redaction(faces=not args.no_faces, plates=not args.no_plates, **tuning)
