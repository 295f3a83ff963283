"""A real RTSP server on loopback for the ingest tests: GStreamer's
gst-rtsp-server (Debian: gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-good,
python3-gi), serving one MP4 file at rtsp://127.0.0.1:PORT/x in real time.

FFmpeg has no RTSP server mode for players to pull from, so GStreamer's is
used. Run with the system Python (it has the `gi` bindings):

    /usr/bin/python3 tests/rtsp_server.py --port 8554 --file clip.mp4 --codec h264

It prints "ready" once it listens and runs until killed.
"""

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

PAYLOADERS = {"h264": "rtph264pay", "hevc": "rtph265pay"}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", required=True)
    p.add_argument("--file", required=True)
    p.add_argument("--codec", choices=sorted(PAYLOADERS), default="h264")
    args = p.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(args.port)
    factory = GstRtspServer.RTSPMediaFactory()
    # Parameter sets travel in the SDP (sprop-parameter-sets), as many cameras send them.
    factory.set_launch(
        f"( filesrc location={args.file} ! qtdemux ! {PAYLOADERS[args.codec]} name=pay0 pt=96 config-interval=0 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/x", factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
        return 1
    print("ready", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
