"""Write a benchmark's table into a markdown file between its markers, so docs/ keeps the
tables a script printed without anyone copying them by hand."""

from __future__ import annotations

from pathlib import Path


def write_between(path: Path, name: str, text: str) -> None:
    """Replace what lies between '<!-- name -->' and '<!-- /name -->' in `path` with `text`."""
    doc = path.read_text()
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    if start not in doc or end not in doc:
        raise SystemExit(f"{path} has no {start} ... {end} markers")
    head, rest = doc.split(start, 1)
    path.write_text(head + start + "\n" + text + "\n" + end + rest.split(end, 1)[1])
