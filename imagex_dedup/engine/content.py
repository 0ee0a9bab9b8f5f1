"""The content window: the centred rectangle of a picture that holds its sharp detail.

A photo posted on a larger canvas filled with a blurred, enlarged copy of itself (the usual way
a landscape photo is shown in a square feed) keeps its own detail, while the blurred background
has almost no fine detail left. Fine detail is measured per line as the mean absolute second
difference of the luminance across it, less :data:`QUANTUM` (rows: vertical second differences,
so the hard left and right edges of the pasted photo add nothing to the rows beside them;
columns: horizontal ones).
A line is *plain* when its detail is below :data:`PLAIN` of the median line of the picture's
middle half.

The window is cut symmetrically: on each axis by the fewer plain lines of the two ends, because
padding centres the picture. So an ordinary photo with a plain sky at the top and detail at the
bottom keeps its whole height, and a padded copy of it is cut by the padding alone, not by the
sky: the window is then the pasted photo, which lines up with the original's whole picture. A
photo whose opposite edges are both plain (a shallow depth of field, a vignette) gets a window
of its own, and its copies get the same one.
"""

from __future__ import annotations

import numpy as np

PLAIN = 0.2
"""Fraction of the middle half's median detail below which a line counts as plain."""
MAX_CUT = 0.35
"""Most of an axis cut per side: a landscape photo of aspect 2:1 on a square canvas 1.25 times
its width leaves 30 % per side; an axis plain deeper than this is a plain picture, left whole."""
QUANTUM = 1.0
"""Second differences up to one luminance level are left out: the rounding of 8-bit levels
leaves that much in a smooth gradient, which in a dark, flat picture is as much as its detail."""
EDGE_LINES = 2
"""Lines cut past the last plain one: the padding line next to the picture sees the step up to
it, and the reduction to the working size blends the picture's edge into the next."""
MIN_SIDE = 8
"""Fewest lines on an axis worth measuring."""


def _detail(luma: np.ndarray, axis: int) -> np.ndarray:
    """Detail of each line of ``luma`` across ``axis`` (0: rows, 1: columns): the mean absolute
    second difference along ``axis`` less :data:`QUANTUM`, edge-padded to one value per line."""
    second = np.abs(np.diff(luma, 2, axis=axis))
    second -= QUANTUM
    np.maximum(second, 0.0, out=second)
    return np.pad(second.mean(axis=1 - axis), 1, mode="edge")


def _plain_depth(detail: np.ndarray) -> int:
    """Lines to cut from both ends of an axis: the fewer plain lines of its two ends, or 0."""
    n = len(detail)
    reference = float(np.median(detail[n // 4 : n - n // 4]))
    if reference <= 0:
        return 0
    limit = int(n * MAX_CUT)
    plain = detail[:limit] < PLAIN * reference, detail[::-1][:limit] < PLAIN * reference
    depths = []
    for end in plain:
        detailed = np.flatnonzero(~end)
        if not detailed.size:
            return 0  # plain past the limit: a plain picture, not padding
        depths.append(int(detailed[0]))
    depth = min(depths)
    return depth + EDGE_LINES if depth else 0


def padding(luma: np.ndarray) -> tuple[int, int]:
    """Plain lines around the detail of ``luma`` (h, w): rows to cut at the top and at the
    bottom each, columns to cut at the left and at the right each."""
    h, w = luma.shape
    if h < MIN_SIDE or w < MIN_SIDE:
        return (0, 0)
    return (_plain_depth(_detail(luma, 0)), _plain_depth(_detail(luma, 1)))
