"""A detector of your own (on the GPU when there is one) in desensitized playback.

Shows: any object with a ``kind`` and a ``detect(image)`` method returning
``(N, 5)`` boxes ``x0, y0, x1, y1, score`` is a detector; pass it in
``Redaction(detectors=[...])`` and playback runs it, tracks its boxes and
blurs them, fail-closed (if ``detect`` raises, playback stops instead of
showing the picture).

This one runs an ONNX face network with onnxruntime, on CUDA when the
installed onnxruntime has the CUDA execution provider and a GPU answers, on
the CPU otherwise; it prints which one it got. The network is the
CenterFace model that ``vidvault models install`` pins (read from
``$VIDVAULT_MODELS``) standing in for yours, with our own pre- and
post-processing: swap ``FaceNet`` for your model and its decoding. The
built-in detectors are switched off (``faces=False, plates=False, people=None``), so
every box hidden here is one this detector found.

Needs the ``onnx`` package (to free the exported model's fixed input size)
and scikit-image (the face photo). Run::

    python examples/custom_detector.py [WORKDIR]

Exits non-zero when the face stays visible on any frame.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import av
import numpy as np
import onnx
import onnxruntime as ort
from skimage import data

import vidvault
from vidvault.redact import model_path

# The exported model lists its weights as graph inputs too; onnxruntime warns
# once per tensor about that. Show errors only.
ort.set_default_logger_severity(3)

CAMERA = "34020000001320000005"
T0 = 1_763_700_000 * 1_000_000_000  # 2025-11-21T04:40:00Z
NS = 1_000_000_000
FPS = 25


def check(ok: object, what: str) -> None:
    """Fails the example (exit status 1) when a result is not what it should be."""
    if not ok:
        raise SystemExit(f"FAILED: {what}")


def providers() -> list[str]:
    """CUDA first when this onnxruntime build has it, the CPU always as the fallback."""
    available = ort.get_available_providers()
    wanted = ["CUDAExecutionProvider"] if "CUDAExecutionProvider" in available else []
    return wanted + ["CPUExecutionProvider"]


class FaceNet:
    """Faces from a CenterFace-style network: for every 4x4 cell a face-centre
    heatmap, the log of the face's size and the centre's sub-cell offset."""

    kind = "face"
    STRIDE = 4
    #: Lowest score reported; playback's ``min_score`` (0.35 for faces) decides what is hidden.
    THRESHOLD = 0.3

    def __init__(self, model: Path) -> None:
        # The export fixes its input at 10x3x32x32: let height and width vary.
        graph = onnx.load(str(model))
        weights = {w.name for w in graph.graph.initializer}
        inputs = [i for i in graph.graph.input if i.name not in weights]
        del graph.graph.input[:]
        graph.graph.input.extend(inputs)
        for value in list(graph.graph.input) + list(graph.graph.output):
            dims = value.type.tensor_type.shape.dim
            for dim, name in zip(dims, ("n", "c", "h", "w")):
                dim.ClearField("dim_value")
                dim.dim_param = f"{value.name}_{name}" if name in "hw" else name
        self.session = ort.InferenceSession(graph.SerializeToString(), providers=providers())
        self.device = "GPU (CUDA)" if "CUDAExecutionProvider" in self.session.get_providers() else "CPU"
        self.input = self.session.get_inputs()[0].name

    def detect(self, image: np.ndarray) -> np.ndarray:
        h, w = (image.shape[0] // 32) * 32, (image.shape[1] // 32) * 32  # strides divide the input
        blob = np.ascontiguousarray(image[:h, :w].transpose(2, 0, 1)[None], dtype=np.float32)
        heatmap, log_size, offset = (o[0] for o in self.session.run(None, {self.input: blob})[:3])
        ys, xs = np.nonzero(heatmap[0] >= self.THRESHOLD)
        if not len(ys):
            return np.zeros((0, 5), dtype=np.float32)
        size_h = np.exp(log_size[0, ys, xs]) * self.STRIDE
        size_w = np.exp(log_size[1, ys, xs]) * self.STRIDE
        cy = (ys + offset[0, ys, xs] + 0.5) * self.STRIDE
        cx = (xs + offset[1, ys, xs] + 0.5) * self.STRIDE
        boxes = np.stack([cx - size_w / 2, cy - size_h / 2, cx + size_w / 2, cy + size_h / 2,
                          heatmap[0, ys, xs]], axis=1).astype(np.float32)
        return nms(boxes, iou=0.3)


def nms(boxes: np.ndarray, iou: float) -> np.ndarray:
    """Greedy non-maximum suppression: the heatmap peak of one face spreads
    over neighbouring cells; keep the best-scoring box of each cluster."""
    order = np.argsort(-boxes[:, 4])
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while len(order):
        best, rest = order[0], order[1:]
        keep.append(best)
        w = np.clip(np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0]), 0, None)
        h = np.clip(np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1]), 0, None)
        overlap = w * h / (area[best] + area[rest] - w * h)
        order = rest[overlap <= iou]
    return boxes[keep]


def encode_walking_face(path: Path, frames: int = FPS) -> list[tuple[int, int, int, int]]:
    """640x360 H.264 (libx264, one-second closed GOPs) of a face photo moving
    right over a gradient; returns the face's box per frame."""
    face = data.astronaut()[0:250, 130:320]  # the face is at (45..140, 50..180) inside
    y, x = np.mgrid[0:360, 0:640]
    background = np.stack([x % 256, y % 256, (x + y) % 256], axis=2).astype(np.uint8)
    boxes = []
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"preset": "veryfast",
                          "x264-params": f"keyint={FPS}:min-keyint={FPS}:scenecut=0:bframes=0"}
        for i in range(frames):
            pic = background.copy()
            fx, fy = 80 + 8 * i, 60
            pic[fy:fy + 250, fx:fx + 190] = face
            boxes.append((fx + 45, fy + 50, fx + 140, fy + 180))
            out.mux(stream.encode(av.VideoFrame.from_ndarray(pic, format="rgb24")))
        out.mux(stream.encode(None))
    return boxes


def detail(image: np.ndarray, box: tuple[int, int, int, int]) -> float:
    x0, y0, x1, y1 = box
    g = image[y0:y1, x0:x1].astype(np.float32).mean(axis=2)
    return float(np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean())


def main(workdir: Path) -> int:
    workdir.mkdir(parents=True)
    detector = FaceNet(model_path("centerface.onnx"))  # verified against its pinned SHA-256
    print(f"detector       {type(detector).__name__} on {detector.device} "
          f"(onnxruntime providers available: {', '.join(ort.get_available_providers())})")
    truth = encode_walking_face(workdir / "lobby.mp4")
    redaction = vidvault.Redaction(faces=False, plates=False, people=None, detectors=[detector], detect_every=1)

    with vidvault.Store.create(workdir / "store", key=vidvault.generate_key()) as store:
        store.add_camera(CAMERA, labels={"place": "lobby"})
        vidvault.ingest(store, CAMERA, str(workdir / "lobby.mp4"), start=T0)
        shown = list(store.play(CAMERA, T0, T0 + NS, redact=redaction))
        raw = [f.image for f in store.play(CAMERA, T0, T0 + NS, raw=True)]

    check(len(shown) == len(truth), f"{len(shown)} pictures played, {len(truth)} recorded")
    kinds = {b.kind for f in shown for b in f.boxes}
    print(f"hidden         {sum(len(f.boxes) for f in shown)} boxes of kind {sorted(kinds)} "
          f"on {len(shown)} pictures")
    check(kinds == {"face"}, f"boxes of kinds {kinds}: only this detector's faces were expected")
    before = [detail(img, box) for img, box in zip(raw, truth)]
    after = [detail(f.image, box) for f, box in zip(shown, truth)]
    print(f"face detail    raw {np.mean(before):.1f} -> desensitized {np.mean(after):.1f}")
    check(all(a < 0.25 * b for a, b in zip(after, before)), "the face stays visible on some frame")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory(prefix="vidvault-detector-") as tmp:
        sys.exit(main(Path(tmp) / "work"))
