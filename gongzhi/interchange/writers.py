"""Writing interchange tables: a folder of UTF-8 CSV files (no BOM, ``\\n`` line ends, minimal quoting), or one XLSX
workbook with one sheet per file named after it (``residents.csv``). Rows stream to disk as they come.

Every cell is written as text, in the workbook too, so that 12-digit codes, phone-like refs and leading zeros survive
a spreadsheet round trip.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gongzhi.core.interchange import ProgressBar


@dataclass
class OutTable:
    name: str  # "residents.csv"
    header: Sequence[str]
    rows: Iterable[Sequence[str]]


def is_workbook(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() == ".xlsx"


def write_tables(
    path: str | os.PathLike[str], tables: Iterable[OutTable], *, progress: ProgressBar | None = None
) -> dict[str, int]:
    """Write the tables to a folder (created if missing) or to an .xlsx file; returns the data rows per file."""
    if is_workbook(path):
        return _write_workbook(Path(path), tables, progress)
    return _write_folder(Path(path), tables, progress)


def write_csv(
    file: Path, header: Sequence[str], rows: Iterable[Sequence[str]], progress: ProgressBar | None = None
) -> int:
    count = 0
    with file.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
            if progress is not None:
                progress.update(1)
    return count


def _write_folder(folder: Path, tables: Iterable[OutTable], progress: ProgressBar | None) -> dict[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    return {t.name: write_csv(folder / t.name, t.header, t.rows, progress) for t in tables}


def _write_workbook(file: Path, tables: Iterable[OutTable], progress: ProgressBar | None) -> dict[str, int]:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    file.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook(write_only=True)
    counts: dict[str, int] = {}
    for table in tables:
        sheet = workbook.create_sheet(title=table.name)
        sheet.append(list(table.header))
        count = 0
        for row in table.rows:
            cells = []
            for value in row:
                c = WriteOnlyCell(sheet, value=value or None)
                if value:
                    c.data_type = "s"  # text, never a number or a formula
                cells.append(c)
            sheet.append(cells)
            count += 1
            if progress is not None:
                progress.update(1)
        counts[table.name] = count
    workbook.save(file)
    return counts
