"""The raw clip laid out from frame metadata (vidvault.media.virtual_mp4):
the same bytes as the in-memory remux, any byte range produced by
decrypting only the frames it covers, and altered metadata never served."""

from __future__ import annotations

import struct
import subprocess
from fractions import Fraction

import pytest

import vidvault
from vidvault.grant_window import GrantWindow, WindowedFootage
from vidvault.media import remux, virtual_mp4
from vidvault.web import raw_clip

from helpers import NS, T0, ingest_file


def _store(tmp_path, source, *, roll_after=2.0):
    store = vidvault.Store.create(tmp_path / "store", key=vidvault.generate_key(), roll_after=roll_after)
    store.add_camera("cam")
    ingest_file(store, "cam", source, T0)
    return store


class Counting(WindowedFootage):
    """The store's footage, counting the frames decrypted."""

    def __init__(self, core, window=GrantWindow()):
        super().__init__(core, window)
        self.decrypted = 0

    def read_frame(self, info):
        self.decrypted += 1
        return super().read_frame(info)


def _remuxed(core, start, end):
    frames = list(core.read("cam", start, end))
    config = remux.one_config(core, "cam", frames)
    samples = remux.plan(frames, time_base=Fraction(*config.time_base), start=start, end=end,
                         annexb=remux.annexb_footage(config, frames))
    return remux.to_bytes(samples, config)[0]


def _whole(mp4, footage):
    return b"".join(mp4.read(0, mp4.size - 1, footage.read_frame))


@pytest.mark.parametrize("codec,bframes", [("h264", 0), ("h264", 2), ("hevc", 0)])
def test_the_virtual_clip_is_the_remux_byte_for_byte(tmp_path, clip, codec, bframes):
    store = _store(tmp_path, clip(codec=codec, bframes=bframes, width=320, height=240, seconds=4.0))
    core = store._core
    start, end = T0 + NS // 2, T0 + 3 * NS  # starts mid-GOP: an edit hides the frames before it
    footage = Counting(core)
    mp4 = virtual_mp4.layout(footage, "cam", core.frame_infos("cam", start, end), start=start, end=end)
    assert footage.decrypted == 1, "the layout decrypts only the template's first frame"
    assert _whole(mp4, footage) == _remuxed(core, start, end)
    store.close()


def test_a_source_clock_restart_is_laid_out_as_the_remux_places_it(tmp_path, clip):
    # The same file ingested twice, 4.5 s apart on the wall clock: the second
    # time its pts start again from 0 (a camera that reconnected), so the
    # layout opens a new timeline run placed by the wall clock.
    source = clip(width=320, height=240, seconds=4.0, gop=25)
    store = _store(tmp_path, source)
    ingest_file(store, "cam", source, T0 + 4 * NS + NS // 2)
    core = store._core
    start, end = T0 + NS, T0 + 8 * NS
    mp4 = virtual_mp4.layout(Counting(core), "cam", core.frame_infos("cam", start, end), start=start, end=end)
    assert _whole(mp4, Counting(core)) == _remuxed(core, start, end)
    store.close()


def test_a_long_clip_plays_and_a_range_of_it_decrypts_only_the_frames_it_covers(tmp_path, clip):
    # 60 s at 640x360: several segments, chunks of up to 1 MiB.
    store = _store(tmp_path, clip(width=640, height=360, seconds=60.0, gop=50), roll_after=10.0)
    core = store._core
    start, end = T0, T0 + 60 * NS
    infos = core.frame_infos("cam", start, end)
    footage = Counting(core)
    mp4 = virtual_mp4.layout(footage, "cam", infos, start=start, end=end)
    data = _whole(mp4, footage)
    assert data == _remuxed(core, start, end)
    assert len(set(f.segment for f in infos)) >= 5 and data.count(b"stco") == 1
    path = tmp_path / "long.mp4"
    path.write_bytes(data)
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                            "stream=codec_name,nb_read_frames", "-of", "csv=p=0", str(path)],
                           capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0 and probe.stdout.strip() == f"h264,{len(infos)}", probe.stderr

    footage.decrypted = 0
    middle = mp4.sample_offsets[len(infos) // 2] + 10
    part = b"".join(mp4.read(middle, middle + 99_999, footage.read_frame))
    assert part == data[middle : middle + 100_000]
    covered = sum(1 for at, n in zip(mp4.sample_offsets, mp4.sample_sizes) if at <= middle + 99_999 and at + n > middle)
    assert footage.decrypted == covered < len(infos) // 20
    footage.decrypted = 0
    assert b"".join(mp4.read(0, 999, footage.read_frame)) == data[:1000] and footage.decrypted == 0
    store.close()


def test_a_frame_whose_clear_metadata_was_altered_is_never_served(tmp_path, clip):
    key = vidvault.generate_key()
    store = vidvault.Store.create(tmp_path / "store", key=key, roll_after=10.0)
    store.add_camera("cam")
    ingest_file(store, "cam", clip(width=320, height=240, seconds=4.0), T0)
    victim = store._core.frame_infos("cam", T0, T0 + 4 * NS)[10]
    path = store.path / next(s.path for s in store.segments("cam", T0, T0 + 4 * NS) if s.id == victim.segment)
    store.close()
    data = bytearray(path.read_bytes())
    at = victim.offset + 8 + 16  # record prefix, then kind, flags, reserved and seq: the clear timestamp
    assert struct.unpack_from("<q", data, at)[0] == victim.ts
    struct.pack_into("<q", data, at, victim.ts + 1)
    path.write_bytes(bytes(data))

    with vidvault.Store.open(tmp_path / "store", key=key) as store:
        infos = store._core.frame_infos("cam", T0, T0 + 4 * NS)
        # A sealed segment is listed from its frame table (authenticated by
        # the footer), which still says what was written; the record itself
        # no longer authenticates.
        assert infos[10].ts == victim.ts, "listed from the frame table, not from the altered record"
        footage = WindowedFootage(store._core, GrantWindow())
        mp4 = virtual_mp4.layout(footage, "cam", infos, start=T0, end=T0 + 4 * NS)
        assert b"".join(mp4.read(0, mp4.sample_offsets[10] - 1, footage.read_frame))  # before it: served
        with pytest.raises(vidvault.VidvaultError):
            b"".join(mp4.read(mp4.sample_offsets[10], mp4.sample_offsets[10], footage.read_frame))


def test_a_frame_outside_the_grants_window_is_not_decrypted(tmp_path, clip):
    store = _store(tmp_path, clip(width=320, height=240, seconds=4.0))
    core = store._core
    windowed = WindowedFootage(core, GrantWindow(T0 + 2 * NS, T0 + 4 * NS))
    listed = windowed.frame_infos("cam", T0, T0 + 4 * NS)
    assert listed and all(f.ts >= T0 + 2 * NS for f in listed) and listed[0].keyframe
    before = core.frame_infos("cam", T0, T0 + NS)[0]
    with pytest.raises(vidvault.MediaError, match="outside the grant's window"):
        windowed.read_frame(before)
    store.close()


def test_annex_b_footage_is_remuxed_in_memory_with_the_same_bytes(tmp_path, clip):
    store = _store(tmp_path, clip(width=320, height=240, seconds=4.0, ext="ts"))
    core = store._core
    start, end = T0 + NS // 2, T0 + 3 * NS
    footage = WindowedFootage(core, GrantWindow())
    with pytest.raises(virtual_mp4.NotLayable, match="Annex B"):
        virtual_mp4.layout(footage, "cam", core.frame_infos("cam", start, end), start=start, end=end)
    built = raw_clip.build(footage, "cam", start, end, core.frame_infos("cam", start, end))
    assert isinstance(built, raw_clip.RawClip) and built.data == _remuxed(core, start, end)
    store.close()
