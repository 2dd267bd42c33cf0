"""Write every lesson, and its worked solutions, as a Jupyter notebook (through jupytext).

Run it as ``python3 make.py notebooks`` (it passes its arguments on)::

    python3 make.py notebooks                 # notebooks/NN_topic.ipynb and notebooks/solutions/
    python3 make.py notebooks --only 01 02    # some lessons
    python3 make.py notebooks --out DIR --force

The notebooks are **not executed**: they hold the lesson's text as Markdown
cells and its code as code cells, with no outputs; run them in Jupyter
(Run All), where each lesson sizes its work by ``$LINALG_RNN_MODE`` as it does
on the command line.  A lesson is a sphinx-gallery script: a docstring, then
``# %%`` cells that open with a reST comment block.  This script turns the
reST into Markdown (headings, ``:math:`` to ``$...$``, ``.. math::`` to
``$$...$$``, roles to code spans, tables), writes the result as a jupytext
percent-format script with ``# %% [markdown]`` cells, and lets jupytext read
that and write the ``.ipynb``.

A notebook that already exists and differs from the one about to be written
is kept (you may have edited it) unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
SOLUTIONS = LESSONS / "solutions"
ADORNMENTS = "=-~^\"'`#*+"
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def _role(match: re.Match) -> str:
    role, target = match.group(1), match.group(2)
    label = re.match(r"(.*?)\s*<(.+)>$", target, re.S)
    if label:  # :doc:`text <target>`
        return label.group(1)
    if role.startswith("cite"):
        return f"[{target}]"
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}()`" if role in {"func", "meth"} else f"`{target}`"


def _table(lines: list[str]) -> list[str]:
    """A reST simple table (rows between ``===`` rules) as a Markdown table."""
    rule = lines[0]
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", rule)]
    rows = []
    for line in lines[1:]:
        if re.fullmatch(r"[= ]+", line):
            continue
        cells = [line[a:(spans[k + 1][0] if k + 1 < len(spans) else len(line))].strip()
                 for k, (a, _) in enumerate(spans)]
        rows.append(cells)
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(spans)]
    out += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return out


def rst_to_markdown(text: str, levels: dict[str, int]) -> str:
    """The Markdown for one reST text block of a lesson; ``levels`` maps heading characters to depth."""
    lines = text.strip("\n").splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        stripped = nxt.strip()
        if (line.strip() and stripped and len(set(stripped)) == 1 and stripped[0] in ADORNMENTS
                and len(stripped) >= len(line.strip()) and not line.startswith(" ")):
            level = levels.setdefault(stripped[0], len(levels) + 1)
            out += ["#" * level + " " + line.strip(), ""]
            i += 2
            continue
        if re.fullmatch(r"=+( +=+)+", line.strip()):
            end = i + 1
            rules = 1
            while end < len(lines) and rules < 3:
                if re.fullmatch(r"=+( +=+)+", lines[end].strip()):
                    rules += 1
                end += 1
            out += _table(lines[i:end]) + [""]
            i = end
            continue
        directive = re.match(r"\.\. (math|code-block)::\s*(.*)$", line.strip())
        if directive:
            kind, argument = directive.groups()
            body = [argument] if kind == "math" and argument else []
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                body.append(lines[i].strip() if kind == "math" else lines[i])
                i += 1
            text_body = "\n".join(body).strip("\n")
            if kind == "math":
                out += ["$$", text_body, "$$", ""]
            else:
                indent = min((len(b) - len(b.lstrip()) for b in body if b.strip()), default=0)
                out += ["```" + argument, *(b[indent:] for b in body), "```", ""]
            continue
        if line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
            out.append(line.rstrip()[:-1] if line.rstrip() != "::" else "")
            i += 1
            block = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            while block and not block[0].strip():
                block.pop(0)
            indent = min(len(b) - len(b.lstrip()) for b in block if b.strip())
            out += ["```", *(b[indent:] for b in block), "```", ""]
            continue
        out.append(line)
        i += 1
    # Inline markup, outside the fenced code blocks (odd pieces of the split).
    pieces = re.split(r"(^```.*?^```$)", "\n".join(out), flags=re.S | re.M)
    for k in range(0, len(pieces), 2):
        md = re.sub(r":math:`(.+?)`", r"$\1$", pieces[k], flags=re.S)
        md = re.sub(r":([a-z]+(?::[a-z]+)?):`(.+?)`", _role, md, flags=re.S)
        md = re.sub(r"``(.+?)``", r"`\1`", md, flags=re.S)
        pieces[k] = re.sub(r"(?<=\w)--(?=\w)", "–", md)
    return re.sub(r"\n{3,}", "\n\n", "".join(pieces)).strip("\n")


def percent_script(path: Path, extra_markdown: str = "") -> str:
    """The lesson as a jupytext percent-format script: Markdown cells for text, code cells for code."""
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    _, blocks = split_code_and_text_blocks(str(path))
    levels: dict[str, int] = {}
    cells = []
    for kind, source, _ in (tuple(b)[:3] for b in blocks):
        if kind == "text":
            md = rst_to_markdown(source, levels)
            cells.append("# %% [markdown]\n" + "\n".join(f"# {x}".rstrip() for x in md.splitlines()))
        else:
            cells.append("# %%\n" + source.strip("\n"))
    if extra_markdown:
        cells.append("# %% [markdown]\n" + "\n".join(f"# {x}".rstrip() for x in extra_markdown.splitlines()))
    return "\n\n".join(cells) + "\n"


def notebook(path: Path, extra_markdown: str = ""):
    """The notebook of one lesson or solutions script (an nbformat v4 notebook, not executed)."""
    import jupytext
    import nbformat

    nb = jupytext.reads(percent_script(path, extra_markdown), fmt="py:percent")
    nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
    nbformat.validate(nb)
    return nb


def write_notebooks(out: Path, *, only: list[str] | None = None, force: bool = False) -> list[Path]:
    """Write the notebooks of the lessons (and of their solutions) under ``out``; return those written."""
    import jupytext

    lessons = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
    if only:
        lessons = [p for p in lessons if any(p.name.startswith(o) for o in only)]
        if not lessons:
            raise SystemExit(f"notebooks: no lesson matches {only}")
    jobs = []
    for lesson in lessons:
        solutions = SOLUTIONS / f"{lesson.name[:2]}_solutions.py"
        if solutions.is_file():
            link = (f"Worked solutions to these exercises: "
                    f"[solutions/{solutions.stem}.ipynb](solutions/{solutions.stem}.ipynb).")
            jobs.append((lesson, out / f"{lesson.stem}.ipynb", link))
            jobs.append((solutions, out / "solutions" / f"{solutions.stem}.ipynb", ""))
        else:
            jobs.append((lesson, out / f"{lesson.stem}.ipynb", ""))
    written = []
    for source, target, extra in jobs:
        text = jupytext.writes(notebook(source, extra), fmt="ipynb")
        if target.exists():
            if target.read_text(encoding="utf-8") == text:
                print(f"notebooks: {target} is up to date")
                continue
            if not force:
                print(f"notebooks: kept {target}: it differs from {source.name} (edited?); "
                      "--force overwrites it")
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
        print(f"notebooks: wrote {target}")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "notebooks", help="folder (default: notebooks/)")
    parser.add_argument("--only", nargs="+", metavar="NN", help="only the lessons whose names start so")
    parser.add_argument("--force", action="store_true", help="overwrite notebooks that differ")
    args = parser.parse_args(argv)
    written = write_notebooks(args.out, only=args.only, force=args.force)
    print(f"notebooks: {len(written)} written to {args.out} (not executed: open them in Jupyter and run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
