"""An XLSX read back with the standard library (a zip of XML parts, ECMA-376), as far as the
tests need: each cell's kind, value, number format and boldness, the frozen rows, the
autofilter and the column widths. Not a general reader: one sheet, no formulas or rich text."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from xml.etree import ElementTree

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
# The built-in number formats that show a date or a time (ECMA-376 part 1, 18.8.30).
DATE_FORMAT_IDS = {*range(14, 23), *range(45, 48)}
# Excel's day 0 in the 1900 date system, as its serial numbers count after February 1900.
EXCEL_EPOCH = datetime(1899, 12, 30)


@dataclass(frozen=True)
class Cell:
    kind: Literal["text", "number"]
    value: str | float
    number_format: str  # the format code, or "builtin:N" for a built-in one
    is_date: bool
    bold: bool

    @property
    def moment(self) -> datetime:
        """A date cell's value as Excel shows it: a wall-clock time, to the second."""
        assert self.kind == "number" and self.is_date, self
        assert isinstance(self.value, float)
        return EXCEL_EPOCH + timedelta(seconds=round(self.value * 86400))


@dataclass
class Sheet:
    name: str
    rows: list[list[Cell | None]]  # every row as wide as the widest; None for an empty cell
    frozen_rows: int
    autofilter: str | None
    widths: dict[int, float] = field(default_factory=dict)  # 0-based column -> width


def column_index(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref)
    assert letters, ref
    index = 0
    for letter in letters.group():
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def _is_date_code(code: str) -> bool:
    # drop quoted text, escapes and [colour]/[locale] sections before looking for y, d or h
    bare = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code.lower())
    return bool(re.search(r"[ydh]", bare))


def read_sheet(data: bytes) -> Sheet:
    """The first sheet of the workbook `data`."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        xml = {name: ElementTree.fromstring(book.read(name)) for name in book.namelist()
               if name.endswith((".xml", ".rels"))}
    first = xml["xl/workbook.xml"].find(f"{MAIN}sheets/{MAIN}sheet")
    assert first is not None
    targets = {rel.get("Id"): rel.get("Target", "")
               for rel in xml["xl/_rels/workbook.xml.rels"].iter(f"{RELS}Relationship")}
    sheet = xml["xl/" + targets[first.get(REL_ID)].removeprefix("/xl/")]

    strings = [
        "".join(t.text or "" for t in si.iter(f"{MAIN}t"))
        for si in xml.get("xl/sharedStrings.xml", ElementTree.Element("sst")).iter(f"{MAIN}si")
    ]
    styles = xml["xl/styles.xml"]
    codes = {int(f.get("numFmtId", "0")): f.get("formatCode", "")
             for f in styles.iter(f"{MAIN}numFmt")}
    bold_fonts = [font.find(f"{MAIN}b") is not None
                  for font in styles.findall(f"{MAIN}fonts/{MAIN}font")]
    formats = [(int(xf.get("numFmtId", "0")), int(xf.get("fontId", "0")))
               for xf in styles.findall(f"{MAIN}cellXfs/{MAIN}xf")]

    grid: dict[int, dict[int, Cell]] = {}
    for c in sheet.iter(f"{MAIN}c"):
        ref = c.get("r", "")
        row, column = int(re.sub(r"[A-Z]+", "", ref)) - 1, column_index(ref)
        format_id, font_id = formats[int(c.get("s", "0"))]
        kind, v = c.get("t", "n"), c.findtext(f"{MAIN}v")
        cell_kind: Literal["text", "number"]
        value: str | float
        if kind == "s":
            cell_kind, value = "text", strings[int(v or "0")]
        elif kind == "inlineStr":
            cell_kind, value = "text", "".join(t.text or "" for t in c.iter(f"{MAIN}t"))
        elif kind == "str":
            cell_kind, value = "text", v or ""
        else:
            assert kind == "n" and v is not None, ElementTree.tostring(c)
            cell_kind, value = "number", float(v)
        code = codes.get(format_id, f"builtin:{format_id}")
        grid.setdefault(row, {})[column] = Cell(
            kind=cell_kind,
            value=value,
            number_format=code,
            is_date=format_id in DATE_FORMAT_IDS or (format_id in codes and _is_date_code(code)),
            bold=bold_fonts[font_id],
        )
    height = max(grid, default=-1) + 1
    width = max((max(cells) for cells in grid.values()), default=-1) + 1
    rows = [[grid.get(r, {}).get(c) for c in range(width)] for r in range(height)]

    pane = sheet.find(f"{MAIN}sheetViews/{MAIN}sheetView/{MAIN}pane")
    frozen = int(float(pane.get("ySplit", "0"))) if pane is not None and (
        pane.get("state") == "frozen") else 0
    autofilter = sheet.find(f"{MAIN}autoFilter")
    widths = {
        column - 1: float(col.get("width", "0"))
        for col in sheet.iter(f"{MAIN}col")
        for column in range(int(col.get("min", "1")), int(col.get("max", "1")) + 1)
    }
    return Sheet(
        name=first.get("name", ""),
        rows=rows,
        frozen_rows=frozen,
        autofilter=autofilter.get("ref") if autofilter is not None else None,
        widths=widths,
    )
