"""Child process for test_retention_crash.py: opens a store, prints "go",
then runs one long operation (a retention sweep, or a master-key rotation)
while the parent kills it with SIGKILL at a random moment."""

from __future__ import annotations

import sys

import vidvault


def main() -> None:
    action, path, key_hex = sys.argv[1], sys.argv[2], sys.argv[3]
    store = vidvault.Store.open(path, key=bytes.fromhex(key_hex))
    print("go", flush=True)
    if action == "sweep":
        store.enforce_retention(int(sys.argv[4]))
    elif action == "rotate":
        store.rotate_master_key(bytes.fromhex(sys.argv[4]))
    print("done", flush=True)
    store.close()


if __name__ == "__main__":
    main()
