"""A store serves many cameras at once under the common default soft limit
of open files: each writer keeps its segment file open."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_many_writers_under_a_low_soft_open_files_limit(tmp_path):
    script = textwrap.dedent(
        """
        import resource, sys
        import vidvault

        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        cameras = 400
        store = vidvault.Store.create(sys.argv[1], key=vidvault.generate_key())
        writers = []
        for c in range(cameras):
            store.add_camera(f"cam{c}")
            w = store.writer(f"cam{c}", codec="h264")
            w.append(1_000_000_000, b"frame %d" % c, keyframe=True)
            writers.append(w)
        for w in writers:
            w.sync()
        for c in range(cameras):
            assert store.seek(f"cam{c}", 2_000_000_000).data == b"frame %d" % c
        for w in writers:
            w.close()
        store.close()
        print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)
        """
    )
    r = subprocess.run([sys.executable, "-c", script, str(tmp_path / "s")], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    soft, hard = map(int, r.stdout.split())
    assert soft == hard, "opening a store raises the soft limit to the hard one"
