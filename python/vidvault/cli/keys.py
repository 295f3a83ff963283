"""`vidvault generate-key | rotate-master-key | export-public-key`: the keys a
caller handles (:mod:`vidvault.keys`, :meth:`vidvault.Store.rotate_master_key`,
:meth:`vidvault.Store.export_public_key`)."""

from __future__ import annotations

import argparse
import sys

from .args import open_store, with_store


def cmd_generate_key(args: argparse.Namespace) -> int:
    from .. import keys

    keys.write_key_file(args.out)
    print(f"wrote a new master key to {args.out} (mode 0600); back it up: without it the footage is lost")
    return 0


def cmd_rotate_master_key(args: argparse.Namespace) -> int:
    from .. import keys

    new_key = keys.load_key(args.new_key_file)
    with open_store(args) as store:
        store.rotate_master_key(new_key)
    print("master key rotated: every key-encryption key is now wrapped under the new key; "
          "the old key no longer opens this store")
    return 0


def cmd_export_public_key(args: argparse.Namespace) -> int:
    from .. import keys

    with open_store(args) as store:
        raw = store.export_public_key()
    if args.format == "hex":
        print(raw.hex())
    elif args.format == "pem":
        sys.stdout.write(keys.to_pem(raw).decode("ascii"))
    else:
        print(f"# vidvault export signing key of store {args.store}")
        print(f"# Ed25519, fingerprint (SHA-256 of the raw key) {keys.fingerprint(raw)}")
        print(f"# raw key, hex: {raw.hex()}")
        sys.stdout.write(keys.to_pem(raw).decode("ascii"))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    sp = sub.add_parser("generate-key", help="write a new random master key to a file")
    sp.add_argument("--out", required=True)
    sp.set_defaults(func=cmd_generate_key)

    sp = with_store(sub.add_parser("rotate-master-key", help="re-wrap every key under a new master key"))
    sp.add_argument("--new-key-file", required=True)
    sp.set_defaults(func=cmd_rotate_master_key)

    sp = with_store(sub.add_parser("export-public-key",
                                   help="print the public key that verifies this store's exports"))
    sp.add_argument("--format", choices=("text", "pem", "hex"), default="text",
                    help="text (default): fingerprint, hex and PEM; pem or hex: that form alone")
    sp.set_defaults(func=cmd_export_public_key)
