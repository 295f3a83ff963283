"""OpenCV for the people detectors, imported on demand with a clear error.

``opencv-python-headless`` (Apache-2.0) is a dependency of vidvault; the HOG
people detector's weights ship inside it, so nothing is fetched. OpenCV 5
moved HOG out of the main module, hence the pin below 5 in pyproject.toml.
"""

from __future__ import annotations

from types import ModuleType

from ..errors import DependencyMissingError


def cv2() -> ModuleType:
    """The ``cv2`` module; DependencyMissingError (with the install command)
    when it is absent or lacks what the people detectors use."""
    try:
        import cv2 as module
    except ImportError as e:
        raise DependencyMissingError(
            f"Redaction(people=...) needs OpenCV, which is not importable ({e}); install it with "
            "`pip install 'opencv-python-headless>=4.8,<5'` or pass people=None to hide faces and plates only",
            name="opencv-python-headless") from e
    if not (hasattr(module, "HOGDescriptor") and hasattr(module, "createBackgroundSubtractorMOG2")):
        raise DependencyMissingError(
            f"OpenCV {getattr(module, '__version__', '?')} has no HOGDescriptor/MOG2 (OpenCV 5 moved HOG out); "
            "install `pip install 'opencv-python-headless>=4.8,<5'`", name="opencv-python-headless")
    return module
