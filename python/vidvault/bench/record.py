"""`vidvault bench record`: real RTSP streams recorded by `vidvault record`
beside ffmpeg's segment muxer recording the same streams in the same run.

Each camera is its own GStreamer RTSP server on loopback (``rtsp_server.py``,
the system Python's GStreamer bindings) serving a real H.264 file in real
time. Each recorder is a whole process, as a site runs it, timed from start
to SIGTERM with its CPU taken from the kernel (``wait4``): ``vidvault
record`` with picture checks on (the default) and off, and one
``ffmpeg -c copy -f segment`` per camera (the way Frigate records). Runs
alternate (vidvault, vidvault without checks, ffmpeg, then again) so that a
drift of the machine falls on all three.

Two figures per recorder. The whole process, start-up included, as a short
recording costs it. And the steady state, which is what a camera-hour of a
long-running recorder costs: the CPU the processes use from the end of a
warm-up (a quarter of the run, at least 5 s, when both recorders are
connected and writing) to just before SIGTERM, read from each process's
``/proc/PID/stat`` (every thread's time, live and ended). Start-up weighs
unequally on the two: vidvault's Python imports and store open, ffmpeg's
stream probing, each some tenths of a CPU-second per process.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import DependencyMissingError
from ..media.synthetic import encode_synthetic
from .ffmpeg_peer import require_ffmpeg

SYSTEM_PYTHON = "/usr/bin/python3"  # GStreamer's Python bindings live there (Debian python3-gi)
SERVER = Path(__file__).with_name("rtsp_server.py")
FPS = 25


@dataclass
class RecordRun:
    recorder: str  # "vidvault", "vidvault, no picture checks", "ffmpeg segment muxer"
    cameras: int
    seconds: float  # wall time from start to SIGTERM
    cpu_seconds: float
    frames: int | None = None  # frames the store holds afterwards (vidvault runs)
    #: CPU and wall time of the steady state: from the end of the warm-up to SIGTERM.
    steady_cpu_seconds: float = 0.0
    steady_seconds: float = 0.0

    @property
    def cpu_per_camera_hour(self) -> float:
        return self.cpu_seconds / (self.cameras * self.seconds / 3600)

    @property
    def steady_cpu_per_camera_hour(self) -> float:
        return self.steady_cpu_seconds / (self.cameras * self.steady_seconds / 3600)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check_tools() -> str:
    ffmpeg = require_ffmpeg()
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"],
                           capture_output=True)
    if probe.returncode != 0:
        raise DependencyMissingError("GStreamer's RTSP server is missing (the cameras of this benchmark); run "
                                     "./dev setup or apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 "
                                     "gstreamer1.0-plugins-good gstreamer1.0-plugins-bad")
    return ffmpeg


def _serve(port: int, clip: Path) -> subprocess.Popen:
    server = subprocess.Popen([SYSTEM_PYTHON, str(SERVER), "--port", str(port), "--file", str(clip)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if server.stdout is None or server.stdout.readline().strip() != "ready":
        server.kill()
        raise DependencyMissingError(f"the loopback RTSP server did not start: {server.stderr.read() if server.stderr else ''}")
    return server


def warm_up(seconds: float) -> float:
    """How long a run waits before its steady state is measured."""
    return min(seconds / 2, max(5.0, seconds / 4))


def process_cpu(pid: int) -> float:
    """CPU-seconds a live process has used so far, all its threads (user + system)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": the comm may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Timed:
    wall: float
    cpu: float
    steady_wall: float
    steady_cpu: float


def _timed(argv_list: list[list[str]], seconds: float, env: dict[str, str]) -> Timed:
    """Starts every process, lets them run ``seconds``, stops them with
    SIGTERM (both recorders close their files on it): whole-process wall and
    CPU, and the steady state's after the warm-up."""
    started = time.monotonic()
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for argv in argv_list]
    time.sleep(warm_up(seconds))
    steady_from, cpu_at_warm = time.monotonic(), sum(process_cpu(p.pid) for p in procs)
    time.sleep(max(0.0, seconds - (steady_from - started)))
    steady_wall, steady_cpu = time.monotonic() - steady_from, sum(process_cpu(p.pid) for p in procs) - cpu_at_warm
    for p in procs:
        if p.poll() is not None:  # it died during the run: its CPU is gone with it, and the run is void
            err = p.stderr.read().decode(errors="replace") if p.stderr else ""
            for other in procs:
                if other.poll() is None:
                    other.kill()
            raise RuntimeError(f"{argv_list[0][0]} ended during the run with status {p.returncode}: {err[-500:]}")
    for p in procs:
        p.send_signal(signal.SIGTERM)
    cpu = 0.0
    for p in procs:
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
        err = p.stderr.read().decode(errors="replace") if p.stderr else ""
        if p.returncode not in (0, 255, -signal.SIGTERM):
            raise RuntimeError(f"{argv_list[0][0]} ended with status {p.returncode}: {err[-500:]}")
    return Timed(time.monotonic() - started, cpu, steady_wall, steady_cpu)


def run(work: Path, *, cameras: int, seconds: float, rounds: int,
        say: Callable[[str], None]) -> list[RecordRun]:
    import vidvault

    ffmpeg = _check_tools()
    say("encoding the camera footage (720p H.264)")
    # The server plays the file from its start for each recording (its media is
    # unprepared when the last client leaves), so one run's length is enough.
    clip = encode_synthetic(work / "camera.mp4", width=1280, height=720, fps=FPS, seconds=seconds + 30,
                            gop=2 * FPS)
    ports = [_free_port() for _ in range(cameras)]
    servers = [_serve(p, clip) for p in ports]
    key = vidvault.generate_key()
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}
    runs: list[RecordRun] = []
    try:
        for r in range(rounds):
            for checks in (True, False):
                store = work / f"store-{r}-{int(checks)}"
                vidvault.Store.create(store, key=key).close()
                config = work / f"record-{r}-{int(checks)}.toml"
                config.write_text(f'store = "{store}"\npicture_check_every = {30 if checks else 0}\n' + "".join(
                    f'[[camera]]\nid = "cam{i}"\nurl = "rtsp://127.0.0.1:{port}/x"\n' for i, port in enumerate(ports)))
                name = "vidvault record" + ("" if checks else ", no picture checks")
                say(f"round {r + 1}: {name}, {cameras} camera(s), {seconds:g} s")
                t = _timed([[sys.executable, "-m", "vidvault.cli", "record", str(config)]], seconds, env)
                with vidvault.Store.open(store, key=key) as s:
                    frames = sum(seg.frames or 0 for i in range(cameras) for seg in s.segments(f"cam{i}"))
                runs.append(RecordRun(name, cameras, t.wall, t.cpu, frames, t.steady_cpu, t.steady_wall))
                shutil.rmtree(store, ignore_errors=True)
            out = work / f"ffmpeg-{r}"
            out.mkdir()
            say(f"round {r + 1}: ffmpeg segment muxer, {cameras} camera(s), {seconds:g} s")
            t = _timed([[ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp",
                                 "-i", f"rtsp://127.0.0.1:{port}/x", "-c", "copy", "-f", "segment",
                                 "-segment_time", "60", "-segment_format", "mp4", "-reset_timestamps", "1",
                                 str(out / f"cam{i}-%05d.mp4")] for i, port in enumerate(ports)], seconds, env)
            runs.append(RecordRun("ffmpeg segment muxer", cameras, t.wall, t.cpu, None, t.steady_cpu, t.steady_wall))
            shutil.rmtree(out, ignore_errors=True)
    finally:
        for s in servers:
            s.kill()
            s.wait()
    return runs


def median_cpu(runs: list[RecordRun], recorder: str, *, steady: bool = False) -> float:
    return statistics.median(r.steady_cpu_per_camera_hour if steady else r.cpu_per_camera_hour
                             for r in runs if r.recorder == recorder)
