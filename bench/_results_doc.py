"""docs/results.md is shared by every benchmark: each one rewrites only its own section."""

from __future__ import annotations

import json
import os
from pathlib import Path

RESULTS_MD = Path(__file__).resolve().parents[1] / "docs" / "results.md"


def write_section(md: str, heading: str, path: Path = RESULTS_MD) -> None:
    """Replace the section that starts with `heading` (up to the next '## ' heading), or append it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Results\n\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.rstrip() == heading), None)
    block = md.rstrip("\n") + "\n"
    if start is None:
        new = text.rstrip("\n") + "\n\n" + block
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        tail = "".join(lines[end:])
        new = "".join(lines[:start]) + block + ("\n" + tail if tail else "")
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)


def publish(result: dict, out: Path, *, jsonable, markdown: str | None, heading: str) -> None:
    """Write the run's JSON atomically, its docs/results.md section (unless `markdown` is None), and print
    its verdicts."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(jsonable(result), indent=1), encoding="utf-8")
    os.replace(tmp, out)
    if markdown is not None:
        write_section(markdown, heading)
    for line in result["verdicts"]:
        print(line)
    print(f"total {result['meta']['total_seconds'] / 60:.1f} min; wrote {out}")
