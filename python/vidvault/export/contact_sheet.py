"""The contact sheet of a redacted export, ``review.png``: one thumbnail per
track, cut from the redacted picture (so already hidden) where the track
had its lowest score, with the area around it, labelled with the track's
number and kind. A clerk sees at a glance what was hidden and where, and
the review report (``review.json``) has the numbers for each label.

Only redacted pixels go in: the crops come from the pictures the player
released, the same pixels as ``clip.redacted.mp4`` before the watermark.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

FILE = "review.png"
#: Side of one thumbnail, pixels; the crop is the box and as much again around it.
THUMB = 128
COLUMNS = 8
LABEL = 14


def crop_around(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The box with half its size again on every side, clipped to the picture."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = box
    w, h = max(1, x1 - x0), max(1, y1 - y0)
    side = max(w, h)
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    half = side  # box plus half of it on each side: twice its size
    cx0, cy0 = max(0, cx - half), max(0, cy - half)
    cx1, cy1 = min(width, cx + half), min(height, cy + half)
    if cx1 <= cx0 or cy1 <= cy0:
        return np.zeros((1, 1, 3), np.uint8)
    return np.ascontiguousarray(image[cy0:cy1, cx0:cx1])


def render(thumbs: list[tuple[str, np.ndarray]]) -> bytes:
    """A PNG grid of ``(label, crop)`` thumbnails (an empty sheet says so)."""
    count = max(1, len(thumbs))
    cols = min(COLUMNS, count)
    rows = -(-count // cols)
    sheet = Image.new("RGB", (cols * THUMB, rows * (THUMB + LABEL)), (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    if not thumbs:
        draw.text((4, 4), "nothing hidden", fill=(255, 255, 255))
    for i, (label, crop) in enumerate(thumbs):
        x, y = (i % cols) * THUMB, (i // cols) * (THUMB + LABEL)
        picture = Image.fromarray(crop)
        picture.thumbnail((THUMB, THUMB))
        sheet.paste(picture, (x + (THUMB - picture.width) // 2, y + LABEL + (THUMB - picture.height) // 2))
        draw.text((x + 2, y + 1), label, fill=(255, 255, 255))
    out = io.BytesIO()
    sheet.save(out, format="PNG")
    return out.getvalue()
