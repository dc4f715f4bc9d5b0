"""Draw the app's PNG icons (web manifest) from the favicon's motif: a green circle, white ring
and white check mark (static/icons/point.svg), with no image library: signed distances in numpy,
anti-aliased by coverage, written as PNG with zlib.

    .venv/bin/python scripts/make_icons.py        # rewrites static/icons/icon-*.png

The maskable icon fills its square with the brand blue and keeps the mark inside the central
circle of 40 % radius that every launcher mask leaves visible.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
GREEN = (0x1A, 0x7F, 0x37)  # --open in static/css/site.css
BRAND = (0x0B, 0x3D, 0x91)  # --brand
WHITE = (0xFF, 0xFF, 0xFF)
# The favicon's geometry on its 32-unit grid: circle r 13 with a 3-unit white ring, check mark.
RING_OUTER, RING_INNER = 14.5, 13.0
CHECK = ((10.0, 16.5), (14.0, 20.5), (22.0, 11.5))
CHECK_WIDTH = 3.5
SAFE_ZONE = 0.4  # maskable icons: the mark stays within this fraction of the size from the centre


def _segment_distance(x: np.ndarray, y: np.ndarray, a: tuple, b: tuple) -> np.ndarray:
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = np.clip(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return np.hypot(x - (ax + t * dx), y - (ay + t * dy))


def _coverage(distance_outside: np.ndarray, unit_px: float) -> np.ndarray:
    """How much of each pixel a shape covers, from the signed distance (in grid units) to its edge."""
    return np.clip(0.5 - distance_outside * unit_px, 0.0, 1.0)


def draw(size: int, background: tuple[int, int, int] | None, mark_radius_px: float) -> np.ndarray:
    """An RGBA image: the mark centred, scaled so the white ring's outer edge is mark_radius_px."""
    unit_px = mark_radius_px / RING_OUTER  # pixels per grid unit
    centre = (size - 1) / 2
    ys, xs = np.mgrid[0:size, 0:size].astype(float)
    x = 16 + (xs - centre) / unit_px  # grid coordinates, mark centred at (16, 16)
    y = 16 + (ys - centre) / unit_px
    radius = np.hypot(x - 16, y - 16)
    check = np.minimum(_segment_distance(x, y, *CHECK[:2]), _segment_distance(x, y, *CHECK[1:]))
    layers = [
        (WHITE, _coverage(radius - RING_OUTER, unit_px)),
        (GREEN, _coverage(radius - RING_INNER, unit_px)),
        (WHITE, _coverage(check - CHECK_WIDTH / 2, unit_px)),
    ]
    rgb = np.zeros((size, size, 3))
    alpha = np.zeros((size, size))
    if background is not None:
        rgb[:] = background
        alpha[:] = 1.0
    for colour, cover in layers:  # "over" compositing, premultiplied
        rgb = rgb * (1 - cover[..., None]) + np.array(colour) * cover[..., None]
        alpha = alpha * (1 - cover) + cover
    straight = np.where(alpha[..., None] > 0, rgb / np.maximum(alpha, 1e-9)[..., None], 0)
    return np.dstack((straight, alpha * 255)).round().clip(0, 255).astype(np.uint8)


def png(image: np.ndarray) -> bytes:
    """The image as an 8-bit RGBA PNG."""
    height, width, _ = image.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + image[row].tobytes() for row in range(height))  # filter 0 per row
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):  # "any" icons: the mark fills the square, transparent around it
        (ICONS / f"icon-{size}.png").write_bytes(png(draw(size, None, size / 2 - 1)))
    (ICONS / "icon-maskable-512.png").write_bytes(png(draw(512, BRAND, 512 * SAFE_ZONE)))
    print(f"icons written to {ICONS}")


if __name__ == "__main__":
    main()
