"""Periods: a calendar year (``2025``) or quarter (``2025Q1``), ``[start, end)`` in Asia/Shanghai dates."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

PERIOD_RE = re.compile(r"^(\d{4})(?:Q([1-4]))?$")


class PeriodError(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Period:
    year: int
    quarter: int | None = None  # 1–4, or None for the whole year

    @classmethod
    def parse(cls, key: str) -> Period:
        match = PERIOD_RE.match(key.strip()) if isinstance(key, str) else None
        if not match:
            raise PeriodError(f"period must look like 2025 or 2025Q1, not {key!r}")
        year = int(match.group(1))
        if not 1900 <= year <= 2999:
            raise PeriodError(f"period year out of range: {key!r}")
        return cls(year, int(match.group(2)) if match.group(2) else None)

    @property
    def key(self) -> str:
        return f"{self.year}" if self.quarter is None else f"{self.year}Q{self.quarter}"

    @property
    def start(self) -> datetime.date:
        return datetime.date(self.year, 1 if self.quarter is None else 3 * self.quarter - 2, 1)

    @property
    def end(self) -> datetime.date:
        """The first day after the period."""
        if self.quarter is None or self.quarter == 4:
            return datetime.date(self.year + 1, 1, 1)
        return datetime.date(self.year, 3 * self.quarter + 1, 1)

    def previous(self) -> Period:
        if self.quarter is None:
            return Period(self.year - 1)
        if self.quarter == 1:
            return Period(self.year - 1, 4)
        return Period(self.year, self.quarter - 1)

    def contains(self, day: datetime.date) -> bool:
        return self.start <= day < self.end

    def __str__(self) -> str:
        return self.key
