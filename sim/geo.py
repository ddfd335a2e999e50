"""Coordinates: WGS84 in the data, ETRS89 / UTM zone 32N (EPSG:25832) for distances."""

from __future__ import annotations

from functools import cache

import numpy as np
from pyproj import Transformer


@cache
def _to_utm() -> Transformer:
    return Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)


def project(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS84 degrees to EPSG:25832 metres (x east, y north)."""
    x, y = _to_utm().transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x), np.asarray(y)


def pairwise_km(x: np.ndarray, y: np.ndarray, x2: np.ndarray | None = None,
                y2: np.ndarray | None = None) -> np.ndarray:
    """Straight-line distances in km between two sets of projected points (float32)."""
    if x2 is None:
        x2, y2 = x, y
    dx = (x[:, None] - x2[None, :]).astype(np.float32)
    dy = (y[:, None] - y2[None, :]).astype(np.float32)
    return np.sqrt(dx * dx + dy * dy) / np.float32(1000.0)
