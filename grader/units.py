"""Human numbers, in the units `docker images` prints (decimal: 1 MB = 1,000,000 bytes)."""

from __future__ import annotations

__all__ = ["human_bytes", "human_seconds"]


def human_bytes(size: float) -> str:
    """1234567 -> '1.23 MB'; the same convention as the article and the docker CLI."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(size) >= scale:
            value = size / scale
            digits = 2 if value < 10 else 0 if value >= 100 else 1
            return f"{value:.{digits}f} {unit}"
    return f"{int(size)} B"


def human_seconds(seconds: float) -> str:
    """150.2 -> '2m30s'; 4.25 -> '4.2 s'."""
    if seconds >= 60:
        minutes, rest = divmod(int(round(seconds)), 60)
        return f"{minutes}m{rest:02d}s"
    return f"{seconds:.1f} s"
