"""What to do next, for errors the command line reports.

The core's messages say what failed and where; front ends add what to do,
in their own terms. These are the command line's: each names the `vidvault`
command that helps, with the store the failed command was given.
"""

from __future__ import annotations

import argparse

from .. import errors


def _store(args: argparse.Namespace) -> str:
    return getattr(args, "store", None) or "STORE"


#: By exception class, most specific first: the hint for the first class the error is an instance of.
HINTS: list[tuple[type[BaseException], str]] = [
    (errors.CatalogMissingError, "rebuild the catalog from the segment files with `vidvault fsck {store} --rebuild`"),
    (errors.WrongKeyError, "give the key this store was created with: --key-file FILE or VIDVAULT_KEY "
                           "(64 hex characters)"),
    (errors.StorageFullError, "free space: `vidvault enforce-retention {store}` deletes expired footage, "
                              "`vidvault storage-status {store}` shows the floor"),
    (errors.StoreExistsError, "there is already a store there: open it (e.g. `vidvault cameras {store}`) "
                              "instead of creating one"),
    (errors.NotAStoreError, "check the path, or create a store there with `vidvault create {store}`"),
    (errors.UnknownCameraError, "`vidvault cameras {store}` lists the cameras; "
                                "`vidvault add-camera {store} CAMERA` adds one"),
    (errors.CorruptSegmentError, "`vidvault fsck {store} --deep` lists every damaged segment"),
]


def hint_for(error: BaseException, args: argparse.Namespace) -> str | None:
    for cls, text in HINTS:
        if isinstance(error, cls):
            return text.format(store=_store(args))
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
