"""Export of the interchange format: every registered file, as a folder of CSV files or one ``.xlsx`` workbook.

Exported files are open data: only the METHOD.md columns are written (no names, phones or ID numbers). Under a place,
each file holds that place's subtree (and places.csv also the place's ancestors, so the export imports on its own).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound
from gongzhi.core.interchange import ProgressFactory, specs
from gongzhi.places import codes
from gongzhi.places.models import Place

from .writers import OutTable, write_tables


def export_data(
    path: str | os.PathLike[str],
    *,
    place_code: str | None = None,
    actor: Any = None,
    progress: ProgressFactory | None = None,
) -> dict[str, int]:
    """Write every registered file to ``path`` (a folder, or a workbook when it ends with .xlsx); rows per file."""
    if place_code:
        try:
            codes.validate_code(place_code)
        except codes.CodeError as exc:
            raise NotFound(_("区划代码 %(code)s 无效：%(error)s") % {"code": place_code, "error": exc}) from exc
        if not Place.objects.filter(code=place_code).exists():
            raise NotFound(_("找不到区划 %(code)s") % {"code": place_code})
    tables = [OutTable(s.name, s.export_columns, s.export(place_code=place_code or None)) for s in specs()]
    bar = progress("导出", None) if progress else None
    try:
        counts = write_tables(path, tables, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    audit_record(
        actor=actor,
        action="export",
        target_type="interchange",
        target_id=Path(path).name[:64],
        place_code=place_code or "",
        summary="导出 " + "，".join(f"{name} {n} 行" for name, n in counts.items()),
        changes={"rows": counts},
    )
    return counts
