"""Ids as integers: ``encode_ids`` turns every id column of an ``EngineInput`` into ``UInt32`` codes.

The formulas only compare ids (joins, distinct counts, "first in id order"), so any coding that keeps equality and
order gives the same results. Text ids (36-character UUIDs from the database) make every join, sort and distinct
count of millions of attendance rows work on strings; codes make them work on 4-byte integers — at district scale
several times faster and a fraction of the memory. The pipeline encodes the extractor's frames once, before the
formulas run (``services._compute_and_store``); the engine also runs on text ids (tests build frames by hand).

A code is the rank of the id among all distinct ids *of its kind* found in any frame (``KINDS``), so codes are
consistent across frames (a resident's code is the same in ``residents``, ``attendance``, ``memberships`` …) and
ordered like the ids themselves (node numbers of the co-participation graph, which follow resident id order, do not
change). Nulls stay null; an empty id ("no organisation") becomes null.
"""

from __future__ import annotations

from dataclasses import fields
from typing import cast

import polars as pl

from .frames import SOURCES, EngineInput

# id columns, by the name they have in every frame that holds them (frames.SCHEMAS): one coding per name
KINDS: tuple[str, ...] = (
    "resident_id",
    "activity_id",
    "organization_id",
    "issue_id",
    "need_id",
    "resource_id",
    "provider_id",
)
CODE_DTYPE = pl.UInt32


def _frames(data: EngineInput) -> dict[str, pl.DataFrame]:
    return {f.name: getattr(data, f.name) for f in fields(data) if f.name in SOURCES}


def is_encoded(data: EngineInput) -> bool:
    """Whether every id column present is already coded."""
    return all(
        frame.schema[kind] == CODE_DTYPE for frame in _frames(data).values() for kind in KINDS if kind in frame.columns
    )


def _coding(ids: pl.DataFrame, kind: str) -> pl.DataFrame:
    """``kind, code``: the distinct non-empty ids of the one-column frame ``ids``, sorted and numbered from 0."""
    coding = (
        ids.select(pl.col(kind).cast(pl.Utf8))
        .filter(pl.col(kind).is_not_null() & (pl.col(kind) != ""))
        .unique()
        .sort(kind)
        .with_row_index("code")
        .select(pl.col(kind), pl.col("code").cast(CODE_DTYPE))
    )
    if coding.height > 2**32 - 1:  # pragma: no cover - 4 billion ids of one kind
        raise ValueError(f"too many {kind} values to code in 32 bits")
    return coding


def encode_ids(data: EngineInput) -> EngineInput:
    """A copy of ``data`` with every id column (``KINDS``) as ``UInt32`` codes, consistent across frames and ordered
    like the ids. Other columns and ``missing`` are unchanged; an input already coded is returned as is."""
    if is_encoded(data):
        return data
    frames = _frames(data)
    codings = {
        kind: _coding(pl.concat([f.select(pl.col(kind).cast(pl.Utf8)).unique() for f in holders]), kind)
        for kind in KINDS
        if (holders := [f for f in frames.values() if kind in f.columns])
    }
    coded = {name: encode_frame(frame, codings) for name, frame in frames.items()}
    return EngineInput(**cast(dict[str, pl.DataFrame], coded), missing=data.missing)


# The frame whose ids are, in a database extract, every id of their kind that the other frames refer to: when each
# other frame's ids are among them, coding by these alone gives exactly the codes ``encode_ids`` gives.
PRIMARY: dict[str, str] = {
    "resident_id": "residents",
    "activity_id": "activities",
    "organization_id": "organizations",
    "issue_id": "issues",
    "need_id": "needs",
    "resource_id": "resources",
    "provider_id": "resources",
}


def primary_codings(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """``kind -> (kind, code)``: the ids of each kind's primary frame, sorted and numbered (``PRIMARY``)."""
    return {
        kind: _coding(frames[name].select(kind), kind)
        for kind, name in PRIMARY.items()
        if name in frames and kind in frames[name].columns
    }


def encode_frame(frame: pl.DataFrame, codings: dict[str, pl.DataFrame]) -> pl.DataFrame | None:
    """``frame`` with its id columns coded by ``codings``; None when one of its ids is not in them (or a kind has no
    coding), so that the caller codes everything with ``encode_ids`` instead."""
    order = frame.columns
    for kind in KINDS:
        if kind not in frame.columns or frame.schema[kind] == CODE_DTYPE:
            continue
        coding = codings.get(kind)
        if coding is None:
            return None
        given = pl.col(kind).is_not_null() & (pl.col(kind) != "")
        coded = frame.with_columns(pl.col(kind).cast(pl.Utf8)).join(coding, on=kind, how="left", maintain_order="left")
        if coded.select((given & pl.col("code").is_null()).any()).item():
            return None
        frame = coded.drop(kind).rename({"code": kind}).select(order)
    return frame
