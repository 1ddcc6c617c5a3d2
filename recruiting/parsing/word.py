"""The text of a Word .docx (python-docx): paragraphs and tables in document order, list items bulleted."""

from __future__ import annotations

import io

from recruiting.parsing.formats import ParseError
from recruiting.parsing.lines import BULLET_RE


def docx_text(data: bytes) -> str:
    """One line per paragraph (list items bulleted), table cells in reading order."""
    import docx
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # zip, XML and package errors
        raise ParseError("The Word document is damaged and cannot be read.") from exc

    lines: list[str] = []

    def paragraph(p: Paragraph) -> None:
        text = p.text.strip()
        style = (p.style.name if p.style is not None else "") or ""
        is_list = style.lower().startswith("list") or p._p.pPr is not None and p._p.pPr.numPr is not None
        if text and is_list and not BULLET_RE.match(text):
            text = "• " + text
        lines.append(text)

    def table(t: Table) -> None:
        # The XML cells, not `row.cells`: a merged cell is one <w:tc> but shows up once per grid column.
        for tr in t._tbl.tr_lst:
            for tc in tr.tc_lst:
                cell = _Cell(tc, t)
                for item in cell.iter_inner_content():
                    paragraph(item) if isinstance(item, Paragraph) else table(item)
                lines.append("")

    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            paragraph(item)
        else:
            table(item)
            lines.append("")
    return "\n".join(lines)
