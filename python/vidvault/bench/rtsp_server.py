"""A real RTSP server on loopback for the ingest tests and `vidvault bench record`: GStreamer's
gst-rtsp-server (Debian: gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-good,
python3-gi), serving one MP4 file at rtsp://127.0.0.1:PORT/x in real time.

FFmpeg has no RTSP server mode for players to pull from, so GStreamer's is
used. Run with the system Python (it has the `gi` bindings):

    /usr/bin/python3 python/vidvault/bench/rtsp_server.py --port 8554 --file clip.mp4 --codec h264 \
        [--protocols tcp|udp|all] [--user NAME --password SECRET [--auth basic|digest]]

``--protocols`` limits the lower transports the server accepts (as older
cameras and VLC's server offer UDP only); ``--user``/``--password`` make the
stream ask for credentials (RTSP basic or digest authentication).

It prints "ready" once it listens and runs until killed.
"""

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

PAYLOADERS = {"h264": "rtph264pay", "hevc": "h265parse ! rtph265pay"}
#: ``--codec audio``: a generated tone and no video track (the file is not read),
#: what a URL pointing at a camera's audio channel serves.
AUDIO_ONLY = "( audiotestsrc is-live=true ! audioconvert ! rtpL16pay name=pay0 pt=97 )"
PROTOCOLS = {
    "tcp": GstRtsp.RTSPLowerTrans.TCP,
    "udp": GstRtsp.RTSPLowerTrans.UDP,
    "all": GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP | GstRtsp.RTSPLowerTrans.UDP_MCAST,
}


def require_credentials(server, factory, user: str, password: str, method: str) -> None:
    """Only `user` with `password` may see (and play) the stream."""
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
    if method == "digest":
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        auth.add_digest(user, password, token)
    else:
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    server.set_auth(auth)
    factory.add_role_from_structure(Gst.Structure.from_string(
        f"viewer, {GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS}=(boolean)true, "
        f"{GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT}=(boolean)true")[0])


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", required=True)
    p.add_argument("--file", required=True)
    p.add_argument("--codec", choices=[*sorted(PAYLOADERS), "audio"], default="h264")
    p.add_argument("--protocols", choices=sorted(PROTOCOLS), default="all")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--auth", choices=["basic", "digest"], default="basic")
    args = p.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(args.port)
    factory = GstRtspServer.RTSPMediaFactory()
    # Parameter sets travel in the SDP (sprop-parameter-sets), as many cameras send them.
    factory.set_launch(AUDIO_ONLY if args.codec == "audio" else
                       f"( filesrc location={args.file} ! qtdemux ! {PAYLOADERS[args.codec]} name=pay0 pt=96 "
                       "config-interval=0 )")
    factory.set_shared(True)
    factory.set_protocols(PROTOCOLS[args.protocols])
    if args.user:
        require_credentials(server, factory, args.user, args.password or "", args.auth)
    server.get_mount_points().add_factory("/x", factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
        return 1
    print("ready", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
