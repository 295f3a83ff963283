"""What to do next, for errors the command line reports.

The core's messages say what failed and where; front ends add what to do,
in their own terms. These are the command line's: each names the `vidvault`
command or option that helps, with the store the failed command was given.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

from .. import errors

Hint = Callable[[BaseException, str], "str | None"]


def _not_a_store(error: BaseException, store: str) -> str:
    if Path(str(getattr(error, "path", "") or "")).name.startswith("catalog"):
        # The directory is a store, its catalog is another store's (or damaged).
        return f"rebuild the catalog from the segment files with `vidvault fsck {store} --rebuild`"
    return f"check the path, or create a store there with `vidvault create {store}`"


#: By exception class, most specific first: the first class the error is an instance of gives the hint.
HINTS: list[tuple[type[BaseException], Hint]] = [
    (errors.CatalogMissingError,
     lambda e, store: f"rebuild the catalog from the segment files with `vidvault fsck {store} --rebuild`"),
    (errors.WrongKeyError,
     lambda e, store: "give the key this store was created with: --key-file FILE or VIDVAULT_KEY (64 hex characters)"),
    (errors.StorageFullError,
     lambda e, store: f"free space: `vidvault enforce-retention {store}` deletes expired footage, "
                      f"`vidvault storage-status {store}` shows the floor"),
    (errors.StoreExistsError,
     lambda e, store: f"there is already a store there: open it (e.g. `vidvault cameras {store}`) "
                      "instead of creating one"),
    (errors.NotAStoreError, _not_a_store),
    (errors.UnknownCameraError,
     lambda e, store: f"`vidvault cameras {store}` lists the cameras; `vidvault add-camera {store} CAMERA` adds one"),
    (errors.CorruptSegmentError,
     lambda e, store: f"`vidvault fsck {store} --deep` lists every damaged segment"),
]

#: Hints for malformed requests of one command, whose options name what the core asks for.
COMMAND_HINTS: dict[str, str] = {
    "issue-grant": "a grant names its principal (--to NAME) and a case (--case ID); export grants also "
                   "their approver (--approver NAME)",
    "define-retention-class": "--max-age and --min-age take positive durations (e.g. 30d; min-age at most "
                              "max-age), --max-bytes a positive size (e.g. 2T); leave a limit out for none",
}


def hint_for(error: BaseException, args: argparse.Namespace) -> str | None:
    store = getattr(args, "store", None) or "STORE"
    for cls, hint in HINTS:
        if isinstance(error, cls):
            return hint(error, store)
    if isinstance(error, errors.InvalidArgumentError):
        return COMMAND_HINTS.get(getattr(args, "command", None) or "")
    return None


def message_for(error: BaseException, args: argparse.Namespace) -> str:
    """The error's one line, with the command line's hint in place of the
    Python-facing one the binding appends (its ``hint`` attribute)."""
    message = str(error)
    hint = hint_for(error, args)
    if hint is None:
        return message
    python_hint = getattr(error, "hint", None)
    if isinstance(python_hint, str) and python_hint and message.endswith(python_hint):
        message = message[: -len(python_hint)].rstrip(" ;,.:(")
    return f"{message}; {hint}"
