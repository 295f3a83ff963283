"""Damage to the keystore (keys.vvk) never costs keys: only a torn final
append is cut, anything else is recovered from keys.vvk.copy or refused
without writing, and signing keys are never regenerated behind the
operator's back (docs/security/keystore.md)."""

from __future__ import annotations

import struct

import pytest

import vidvault

from helpers import NS, T0

CAMS = ["34020000001320000001", "34020000001320000002", "34020000001320000003"]
HEADER = 64


def entries(data: bytes) -> list[tuple[int, int]]:
    """(offset, total length) of each entry of a keystore file."""
    out, pos = [], HEADER
    while pos + 8 <= len(data):
        (n,) = struct.unpack_from("<I", data, pos)
        out.append((pos, 8 + n))
        pos += 8 + n
    return out


def kek_entries(data: bytes) -> list[tuple[int, int]]:
    return [(o, n) for o, n in entries(data) if data[o + 8] == 1]


@pytest.fixture
def keyed(store_path, key):
    """A closed store with three cameras, each with footage under its own day
    key, and what a reader must get back: frames, public keys."""
    s = vidvault.Store.create(store_path, key=key)
    frames = {}
    for cam in CAMS:
        s.add_camera(cam)
        with s.writer(cam, codec="h264") as w:
            for i in range(10):
                w.append(T0 + i * 40_000_000, b"%s frame %d" % (cam.encode(), i), keyframe=i % 5 == 0)
        frames[cam] = [f.data for f in s.read(cam, T0, T0 + 10 * NS)]
    expect = {"frames": frames, "export": s.export_public_key(), "admin": s.admin_public_key()}
    s.close()
    return store_path, key, expect


def assert_intact(store, expect):
    for cam in CAMS:
        assert [f.data for f in store.read(cam, T0, T0 + 10 * NS)] == expect["frames"][cam], cam
    assert store.export_public_key() == expect["export"]
    assert store.admin_public_key() == expect["admin"]


def flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x10
    path.write_bytes(bytes(data))


def test_a_flipped_byte_in_a_middle_entry_is_recovered_from_the_copy(keyed):
    store_path, key, expect = keyed
    primary = store_path / "keys.vvk"
    good = primary.read_bytes()
    assert (store_path / "keys.vvk.copy").read_bytes() == good
    middle, _ = kek_entries(good)[1]
    flip(primary, middle + 20)
    with vidvault.Store.open(store_path, key=key) as s:
        assert_intact(s, expect)  # before: later cameras' keys were cut off ("crypto-shredded")
        note = [e for e in s.audit() if e.action == "keystore_recovery"]
        assert len(note) == 1 and "restored from keys.vvk.copy" in note[0].reason, note
    assert primary.read_bytes()[: len(good)] == good


@pytest.mark.parametrize("what", ["middle entry", "length field", "last entry", "header"])
def test_damage_in_both_files_is_refused_and_nothing_is_written(keyed, what):
    store_path, key, _ = keyed
    primary, copy = store_path / "keys.vvk", store_path / "keys.vvk.copy"
    data = primary.read_bytes()
    keks = kek_entries(data)
    at = {"middle entry": keks[1][0] + 20, "length field": keks[1][0] + 1,
          "last entry": keks[-1][0] + 30, "header": 20}[what]
    flip(primary, at)
    flip(copy, at)
    before = (primary.read_bytes(), copy.read_bytes())
    with pytest.raises(vidvault.StoreDamagedError) as err:
        vidvault.Store.open(store_path, key=key)
    e = err.value
    assert e.path.endswith("keys.vvk") and "backup" in str(e) and "nothing was changed" in str(e)
    if what != "header":
        entry = next(o for o, n in entries(data) if o <= at < o + n)
        number = [o for o, _ in entries(data)].index(entry) + 1
        assert e.offset == entry and f"entry {number} " in str(e), str(e)
    assert (primary.read_bytes(), copy.read_bytes()) == before, "a damaged keystore was written"


def test_a_keystore_cut_at_an_entry_boundary_is_restored_from_the_copy(keyed):
    store_path, key, expect = keyed
    primary = store_path / "keys.vvk"
    data = primary.read_bytes()
    primary.write_bytes(data[: kek_entries(data)[1][0]])  # parses as a shorter, sound file
    with vidvault.Store.open(store_path, key=key) as s:
        assert_intact(s, expect)


def test_a_deleted_keystore_is_restored_from_the_copy(keyed):
    store_path, key, expect = keyed
    (store_path / "keys.vvk").unlink()
    with vidvault.Store.open(store_path, key=key) as s:
        assert_intact(s, expect)
    assert (store_path / "keys.vvk").exists()


def test_signing_keys_are_never_regenerated(keyed):
    # Both files cut back to the header: a sound keystore without the
    # store's signing keys. Before, the store made new ones silently (new
    # public key, every export and grant orphaned).
    store_path, key, _ = keyed
    for name in ("keys.vvk", "keys.vvk.copy"):
        p = store_path / name
        p.write_bytes(p.read_bytes()[:HEADER])
    with pytest.raises(vidvault.StoreDamagedError) as err:
        vidvault.Store.open(store_path, key=key)
    assert "export-signing-ed25519" in str(err.value) and "nothing was created" in str(err.value)
    assert (store_path / "keys.vvk").stat().st_size == HEADER


def test_a_torn_final_append_is_cut_without_fuss(keyed):
    # What a crash during an append leaves: part of an entry in keys.vvk, none
    # of it in the copy (written only after keys.vvk's fdatasync).
    store_path, key, expect = keyed
    primary = store_path / "keys.vvk"
    data = primary.read_bytes()
    o, n = kek_entries(data)[0]
    primary.write_bytes(data + data[o:o + n // 2])
    with vidvault.Store.open(store_path, key=key) as s:
        assert_intact(s, expect)
        assert not [e for e in s.audit() if e.action == "keystore_recovery"]
    assert primary.read_bytes() == (store_path / "keys.vvk.copy").read_bytes()


def test_a_wrong_key_is_told_apart_from_damage(keyed):
    store_path, _, _ = keyed
    flip(store_path / "keys.vvk", kek_entries((store_path / "keys.vvk").read_bytes())[0][0] + 20)
    before = (store_path / "keys.vvk").read_bytes()
    with pytest.raises(vidvault.WrongKeyError):
        vidvault.Store.open(store_path, key=vidvault.generate_key())
    assert (store_path / "keys.vvk").read_bytes() == before
