"""The recognised text as Markdown, from the layout Tesseract already reported.

Paragraphs come from Tesseract's block and paragraph numbers; a short paragraph set in clearly
larger type is a heading; lines that start with a bullet or a number are list items; lines
that run to the paragraph's right edge flow on, shorter ones keep their line break. A table
found on the page stands as a Markdown table where its first line stood, its lines no more.
"""

from __future__ import annotations

import re
import statistics
from itertools import groupby

from ocr_api.ocr.result import RecognitionResult, TextLine, join_words
from ocr_api.ocr.tables import places_of_lines, table_markdown

_BULLET = re.compile(r"^\s*[•·●▪■◦‣\-*–—]\s+(?P<rest>.+)$")
_NUMBERED = re.compile(r"^\s*(?P<number>\d{1,3})[.)、．]\s*(?P<rest>.+)$")
_CJK_NUMBERED = re.compile(r"^\s*[（(](?P<number>\d{1,3})[)）]\s*(?P<rest>.+)$")
_SENTENCE_END = tuple(".!?:;。！？：；…」』”")
# In Chinese, a line that closes a sentence at the right edge is usually a line of verse.
_CJK_SENTENCE_END = tuple("。！？；…」』”")
_MARKDOWN_LEAD = re.compile(r"^([#>+*\-]|\d+[.)])")
HEADING_RATIO = 1.3
TITLE_RATIO = 1.6


def to_markdown(result: RecognitionResult) -> str:
    if not result.lines:
        return ""
    typical_height = statistics.median(line.box.height for line in result.lines)
    places = places_of_lines(result.tables)
    parts = []
    written_tables: set[int] = set()
    numbered = list(enumerate(result.lines))
    for _, grouped in groupby(numbered, key=lambda item: (item[1].block, item[1].paragraph)):
        outside: list[TextLine] = []
        for index, line in grouped:
            if index not in places:
                outside.append(line)
                continue
            table = places[index][0]
            if outside:
                parts.append(_paragraph(outside, typical_height))
                outside = []
            if table not in written_tables:
                written_tables.add(table)
                parts.append(table_markdown(result.tables[table]))
        if outside:
            parts.append(_paragraph(outside, typical_height))
    return "\n\n".join(part for part in parts if part) + "\n"


def _paragraph(lines: list[TextLine], typical_height: float) -> str:
    if any(_list_item(line.text) for line in lines):
        return "\n".join(_list_item(line.text) or _escaped(line.text) for line in lines)
    text = _flowed(lines)
    height = statistics.median(line.box.height for line in lines)
    if len(lines) <= 2 and len(text) <= 80 and not text.endswith(_SENTENCE_END):
        if height >= TITLE_RATIO * typical_height:
            return f"# {text}"
        if height >= HEADING_RATIO * typical_height:
            return f"## {text}"
    return text


def _list_item(text: str) -> str | None:
    bullet = _BULLET.match(text)
    if bullet:
        return f"- {bullet['rest']}"
    numbered = _NUMBERED.match(text) or _CJK_NUMBERED.match(text)
    if numbered:
        return f"{numbered['number']}. {numbered['rest']}"
    return None


def _flowed(lines: list[TextLine]) -> str:
    """Joins lines that run on; keeps a Markdown line break after lines that end early."""
    right_edge = max(line.box.right for line in lines)
    left_edge = min(line.box.left for line in lines)
    width = max(1, right_edge - left_edge)
    text = _escaped(lines[0].text)
    for previous, line in zip(lines, lines[1:]):
        runs_on = (right_edge - previous.box.right) < 0.15 * width
        if runs_on and text.endswith("-") and line.text[:1].islower():
            text = text[:-1] + line.text
        elif runs_on and not previous.text.endswith(_CJK_SENTENCE_END):
            text = join_words([text, line.text])
        else:
            text += "  \n" + _escaped(line.text)
    return text


def _escaped(text: str) -> str:
    # A recognised line that merely starts like Markdown syntax must stay plain text.
    return "\\" + text if _MARKDOWN_LEAD.match(text) else text
