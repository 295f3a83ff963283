"""The `vidvault` command line, run as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import vidvault

from helpers import NS, T0, ingest_file

VIDVAULT = [sys.executable, "-m", "vidvault.cli"]


def run(*args, env=None, check=True):
    r = subprocess.run([*VIDVAULT, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"vidvault {' '.join(map(str, args))} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def test_generate_key_create_cameras_segments_fsck(tmp_path, clip):
    keyfile = tmp_path / "master.key"
    run("generate-key", "--out", keyfile)
    assert oct(keyfile.stat().st_mode & 0o777) == "0o600"
    assert len(keyfile.read_text().strip()) == 64
    r = run("generate-key", "--out", keyfile, check=False)
    assert r.returncode != 0, "generate-key must never overwrite a key"

    store = tmp_path / "store"
    run("create", store, "--key-file", keyfile)
    # The audit log and catalog inside are not encrypted: no other local user may enter.
    assert oct(store.stat().st_mode & 0o777) == "0o700"
    run("add-camera", store, "34020000001320000001", "--key-file", keyfile, "--label", "area=district-3")
    out = json.loads(run("cameras", store, "--key-file", keyfile, "--json").stdout)
    assert out[0]["id"] == "34020000001320000001" and out[0]["labels"] == {"area": "district-3"}

    key = vidvault.load_key(keyfile)
    with vidvault.Store.open(store, key=key, roll_after=2.0) as s:
        ingest_file(s, "34020000001320000001", clip())
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}
    segs = run("segments", store, "--camera", "34020000001320000001", env=env).stdout.splitlines()
    assert len(segs) >= 3 and all("sealed" in line for line in segs)
    gaps = run("gaps", store, "--camera", "34020000001320000001", "--start", T0 - 10 * NS,
               "--end", vidvault.timeutil.iso(T0 + 20 * NS), env=env).stdout
    assert gaps.count("..") == 2  # before and after the 6 s of footage
    r = run("fsck", store, "--deep", "--json", env=env)
    assert json.loads(r.stdout)["ok"] is True


def test_fsck_exit_code_and_rebuild(tmp_path, clip):
    key = vidvault.generate_key()
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}
    store = tmp_path / "store"
    with vidvault.Store.create(store, key=key, roll_after=2.0) as s:
        s.add_camera("cam")
        ingest_file(s, "cam", clip())
        victim = store / s.segments("cam")[0].path
    raw = bytearray(victim.read_bytes())
    raw[len(raw) // 3] ^= 0xFF
    victim.write_bytes(bytes(raw))
    r = run("fsck", store, "--deep", env=env, check=False)
    assert r.returncode == 1 and "PROBLEM" in r.stdout and str(victim) in r.stdout
    victim.write_bytes(bytes(raw[: len(raw) // 3] + bytes([raw[len(raw) // 3] ^ 0xFF]) + raw[len(raw) // 3 + 1 :]))
    for name in ("catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"):
        (store / name).unlink(missing_ok=True)
    r = run("fsck", store, env=env, check=False)
    assert r.returncode == 2 and "--rebuild" in r.stderr
    r = run("fsck", store, "--rebuild", env=env)
    assert "rebuilt" in r.stdout and "OK" in r.stdout


def test_errors_are_one_clear_line(tmp_path):
    r = run("cameras", tmp_path / "nowhere", env={**os.environ, "VIDVAULT_KEY": "00" * 32}, check=False)
    assert r.returncode == 2 and r.stderr.startswith("vidvault: ") and "not a vidvault store" in r.stderr
    env = {k: v for k, v in os.environ.items() if k != "VIDVAULT_KEY"}
    r = run("create", tmp_path / "s", env=env, check=False)
    assert r.returncode == 2 and "VIDVAULT_KEY" in r.stderr


def test_errors_say_what_to_do_on_the_command_line(tmp_path, clip):
    """The core says what failed and where; the command line adds which
    `vidvault` command helps, naming the store it was given."""
    key = vidvault.generate_key()
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}
    store = tmp_path / "store"
    run("create", store, env=env)
    r = run("create", store, env=env, check=False)
    assert r.returncode == 2 and "instead of creating one" in r.stderr and len(r.stderr.splitlines()) == 1
    r = run("cameras", store, env={**env, "VIDVAULT_KEY": vidvault.generate_key().hex()}, check=False)
    assert r.returncode == 2 and "--key-file FILE or VIDVAULT_KEY" in r.stderr
    r = run("cameras", tmp_path / "nowhere", env=env, check=False)
    assert r.returncode == 2 and f"vidvault create {tmp_path / 'nowhere'}" in r.stderr
    r = run("segments", store, "--camera", "no-such-camera", env=env, check=False)
    assert r.returncode == 2 and f"vidvault cameras {store}" in r.stderr
    r = run("issue-grant", store, "--to", "clerk", "--actions", "export", "--cameras", "*", "--case", "C-1",
            "--valid-until", "2030-01-01T00:00:00Z", env=env, check=False)
    assert r.returncode == 2 and "--approver NAME" in r.stderr
    other = tmp_path / "other"
    run("create", other, env=env)
    (other / "catalog.sqlite").write_bytes((store / "catalog.sqlite").read_bytes())  # another store's catalog
    r = run("cameras", other, env=env, check=False)
    assert r.returncode == 2 and f"vidvault fsck {other} --rebuild" in r.stderr
    for name in ("catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"):
        (store / name).unlink(missing_ok=True)
    r = run("cameras", store, env=env, check=False)
    assert r.returncode == 2 and f"vidvault fsck {store} --rebuild" in r.stderr


def test_the_command_line_hint_replaces_the_python_one():
    import argparse

    from vidvault.cli.hints import message_for

    error = vidvault.StorageFullError("no space left on /srv/store; free space (use Store.enforce_retention)")
    error.hint = "(use Store.enforce_retention)"
    message = message_for(error, argparse.Namespace(store="/srv/store"))
    assert message.startswith("no space left on /srv/store; free space;") and "Store.enforce_retention" not in message
    assert message.endswith("`vidvault storage-status /srv/store` shows the floor")


def test_demo_runs_end_to_end(tmp_path):
    # The console script the README's `./dev demo` runs, installed beside this interpreter.
    script = Path(sys.executable).parent / "vidvault"
    assert script.exists(), f"console script missing at {script}"
    r = subprocess.run([str(script), "demo", "--dir", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "bit-identical to the source: True" in r.stdout and "demo OK" in r.stdout
    assert "hidden on every frame: True" in r.stdout  # desensitized playback of a real face
    assert (Path(tmp_path) / "store" / "VIDVAULT").exists()


def test_demo_with_s3_moves_the_footage_to_a_real_bucket_and_restores_it_from_there(tmp_path):
    script = Path(sys.executable).parent / "vidvault"
    r = subprocess.run([str(script), "demo", "--s3", "--dir", str(tmp_path)], capture_output=True, text=True,
                       timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    def line(step: str) -> str:
        return next(x for x in r.stdout.splitlines() if x.startswith(step))

    assert "identical to the local read: True" in line("read remote")
    assert "verified offline: VERIFIED" in line("export remote")
    assert "none found" in line("bucket at rest")
    assert "a hold: refused" in line("read-only view")
    assert "0 missing" in line("dead disk")
    assert line("restored ").endswith("identical: True; fsck (bucket objects included): OK")
    assert "demo OK" in r.stdout
    # The dead disk really went, and the restored store stands on its own.
    assert not (tmp_path / "store").exists() and (tmp_path / "restored" / "VIDVAULT").exists()
    # The server's random credentials never reach the output or any file the demo kept.
    identity = json.loads((tmp_path / "weed" / "identities.json").read_text())["identities"][0]["credentials"][0]
    for secret in (identity["secretKey"], identity["accessKey"]):
        assert secret not in out
        for sub in ("restored", "view", "evidence-from-bucket"):
            for f in (tmp_path / sub).rglob("*"):
                assert not f.is_file() or secret.encode() not in f.read_bytes(), f
    # No server left running after the demo.
    weed_dir = str(tmp_path / "weed")
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        assert weed_dir.encode() not in cmdline, f"weed mini still running: pid {proc.name}"


def test_retention_holds_and_rotation_from_the_command_line(tmp_path):
    key = vidvault.generate_key()
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}
    store = tmp_path / "store"
    run("create", store, env=env)
    run("define-retention-class", store, "short", "--max-age", "2d", "--min-age", "1d", env=env)
    run("add-camera", store, "cam", "--retention", "short", env=env)
    listing = run("cameras", store, env=env).stdout
    assert "class short" in listing and "max_age=2d" in listing
    with vidvault.Store.open(store, key=key, roll_after=1800) as s:
        with s.writer("cam", codec="h264") as w:
            for h in range(96):
                w.append(T0 + h * 3600 * NS, b"x" * 100, keyframe=True)
    iso = vidvault.timeutil.iso
    run("hold", store, "--camera", "cam", "--start", iso(T0), "--end", iso(T0 + 3600 * NS), "--case", "C-5",
        "--actor", "clerk", "--reason", "fight", env=env)
    holds = json.loads(run("holds", store, "--json", env=env).stdout)
    assert holds[0]["case"] == "C-5" and holds[0]["released"] is None
    now = iso(T0 + 5 * 86400 * NS)
    dry = json.loads(run("enforce-retention", store, "--dry-run", "--now", now, "--json", env=env).stdout)
    assert dry["dry_run"] is True and len(dry["deleted"]) == 72  # hours 0..72 are past max_age; hour 0 is held
    out = run("enforce-retention", store, "--now", now, env=env).stdout
    assert "deleted 72 segments" in out and "crypto-shredded" in out
    run("release", store, str(holds[0]["id"]), "--actor", "clerk", env=env)
    assert "deleted 1 segments" in run("enforce-retention", store, "--now", now, env=env).stdout
    new_key = tmp_path / "new.key"
    run("generate-key", "--out", new_key)
    run("rotate-master-key", store, "--new-key-file", new_key, env=env)
    r = run("holds", store, env=env, check=False)
    assert r.returncode == 2 and "master key does not open" in r.stderr
    assert run("fsck", store, "--key-file", new_key).returncode == 0
