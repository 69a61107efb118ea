"""Progress bars for the interchange commands: tqdm on stderr, shown only for long files."""

from __future__ import annotations

import sys
from typing import IO, Any

from tqdm import tqdm

from gongzhi.core.interchange import ProgressBar, ProgressFactory


def tqdm_bars(stream: IO[str] | Any = None, *, min_rows: int = 2000) -> ProgressFactory:
    """A progress factory drawing a tqdm bar for every step with at least ``min_rows`` rows (or an unknown count)."""
    out = stream if stream is not None else sys.stderr

    def make(label: str, total: int | None) -> ProgressBar:
        return tqdm(
            desc=label,
            total=total,
            file=out,
            unit="行",
            unit_scale=True,
            leave=False,
            dynamic_ncols=True,
            disable=total is not None and total < min_rows,
        )

    return make
