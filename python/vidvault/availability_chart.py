"""The availability report as a picture a manager would rather look at than
read: one timeline per camera over the period, green where it recorded a
working picture, red where footage is missing, orange where footage arrived
but showed nothing (black, covered, frozen), a violet tick where the camera
was moved, grey before a camera added during the period came into service; its recorded share at the end of the row and the site's intact
rate in the title.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .availability import AvailabilityReport, CameraAvailability
from .errors import StorageError
from .picture_check.judge import AlarmKind
from .timeutil import iso

GREEN, RED, ORANGE, VIOLET = (46, 160, 67), (207, 34, 46), (230, 140, 20), (130, 80, 223)
INK, GRID, PAPER = (36, 41, 47), (208, 215, 222), (255, 255, 255)
#: Before a camera came into service (it was added during the period).
GREY = (175, 184, 193)
LABEL_W, BAR_W, VALUE_W, ROW_H, BAR_H, TOP, BOTTOM, MARGIN = 230, 900, 90, 26, 16, 56, 56, 12


def bar_x(report: AvailabilityReport, ts: int) -> int:
    """The x of a time on every camera's bar (left edge = period start)."""
    span = report.end - report.start
    return MARGIN + LABEL_W + round((min(max(ts, report.start), report.end) - report.start) * BAR_W / span)


def row_y(index: int) -> int:
    """The top of camera ``index``'s bar."""
    return TOP + index * ROW_H + (ROW_H - BAR_H) // 2


def draw_chart(report: AvailabilityReport, target: float = 0.98) -> Image.Image:
    width = MARGIN * 2 + LABEL_W + BAR_W + VALUE_W
    height = TOP + ROW_H * max(1, len(report.cameras)) + BOTTOM
    image = Image.new("RGB", (width, height), PAPER)
    d = ImageDraw.Draw(image)
    font, small = ImageFont.load_default(size=15), ImageFont.load_default(size=12)
    checked = any(c.picture_alarms is not None for c in report.cameras)
    d.text((MARGIN, 10), f"{iso(report.start)} .. {iso(report.end)} (UTC)", fill=INK, font=font)
    d.text((MARGIN, 30), f"intact rate {report.intact_rate(target):.1%} of {len(report.cameras)} camera(s) at "
           f"{target:.0%}" + ("" if checked else " (pictures not checked)"), fill=INK, font=small)
    for i in range(7):  # time axis
        x = MARGIN + LABEL_W + round(i * BAR_W / 6)
        d.line([(x, TOP - 4), (x, height - BOTTOM + 4)], fill=GRID)
        ts = report.start + (report.end - report.start) * i // 6
        d.text((x, height - BOTTOM + 8), _tick(ts, report.end - report.start), fill=INK, font=small, anchor="ma")
    for index, camera in enumerate(report.cameras):
        _row(d, report, index, camera, font)
    legend = [(GREEN, "recorded"), (RED, "missing"), (ORANGE, "no picture"), (VIOLET, "moved"), (GREY, "not yet in service")]
    x = MARGIN + LABEL_W
    for colour, text in legend:
        d.rectangle([x, height - 20, x + 12, height - 8], fill=colour)
        d.text((x + 18, height - 21), text, fill=INK, font=small)
        x += 130
    return image


def _tick(ts: int, span_ns: int) -> str:
    """A time-axis label: seconds on a period under an hour, else month-day and minutes."""
    text = iso(ts)
    return text[11:19] if span_ns < 3600 * 10**9 else text[5:16].replace("T", " ")


def _row(d: ImageDraw.ImageDraw, report: AvailabilityReport, index: int, camera: CameraAvailability,
         font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> None:
    y = row_y(index)
    name = camera.camera if len(camera.camera) <= 26 else camera.camera[:25] + "…"
    d.text((MARGIN, y), name, fill=INK, font=font)
    left, right = bar_x(report, report.start), bar_x(report, report.end)
    in_service = bar_x(report, camera.start)
    d.rectangle([left, y, right - 1, y + BAR_H - 1], fill=GREEN)
    if in_service > left:
        d.rectangle([left, y, in_service - 1, y + BAR_H - 1], fill=GREY)
    for alarm in camera.picture_alarms or ():
        if alarm.kind is AlarmKind.MOVED:
            continue
        end = report.end if alarm.ended is None else alarm.ended
        d.rectangle([bar_x(report, alarm.first_bad), y, max(bar_x(report, alarm.first_bad),
                     bar_x(report, end) - 1), y + BAR_H - 1], fill=ORANGE)
    for gap in camera.outages:  # drawn last: missing wins over anything under it
        d.rectangle([bar_x(report, gap.start), y, max(bar_x(report, gap.start), bar_x(report, gap.end) - 1),
                     y + BAR_H - 1], fill=RED)
    for alarm in camera.picture_alarms or ():
        if alarm.kind is AlarmKind.MOVED:
            x = bar_x(report, alarm.first_bad)
            d.rectangle([x - 1, y - 3, x + 1, y + BAR_H + 2], fill=VIOLET)
    share = camera.working_fraction if camera.picture_alarms is not None else camera.fraction
    d.text((right + 10, y), f"{share:.1%}", fill=INK, font=font)


def write_chart(report: AvailabilityReport, path: Path, target: float = 0.98) -> None:
    try:
        draw_chart(report, target).save(path, format="PNG")
    except OSError as e:
        raise StorageError(f"cannot write the chart {path}: {e.strerror or e}; choose a writable path") from e
