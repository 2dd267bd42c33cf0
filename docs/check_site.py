"""Check a built site: every lesson has a page with its printed output and a figure.

Run after ``python3 make.py docs``::

    python docs/check_site.py docs/_build/html

Exits non-zero, naming the lesson, when a page is missing or empty.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(site: Path) -> int:
    problems = []
    lessons = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.py"))
    for lesson in lessons:
        page = site / "auto_lessons" / f"{lesson.stem}.html"
        if not page.exists():
            problems.append(f"{lesson.name}: no page {page}")
            continue
        html = page.read_text(encoding="utf-8")
        if "sphx-glr-script-out" not in html:
            problems.append(f"{lesson.name}: the page shows no printed output")
        if "<img" not in html:
            problems.append(f"{lesson.name}: the page shows no figure")
    for page in ("index.html", "api/index.html", "references.html", "theory/index.html"):
        if not (site / page).exists():
            problems.append(f"missing page {page}")
    for line in problems:
        print("check_site:", line)
    print(f"check_site: {len(lessons)} lesson pages checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "_build" / "html"))
