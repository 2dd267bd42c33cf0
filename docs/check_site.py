"""Check a built site, first from its files, then in a real browser with the network off.

Run after ``python3 make.py docs``::

    python docs/check_site.py docs/_build/html                    # all checks
    python docs/check_site.py docs/_build/html --screenshots shots  # and PNGs at 1366 and 390 px

From the files: every lesson has a page with its printed output, a figure and
a Jupyter-notebook download that exists; lessons with worked solutions show
one folded dropdown per exercise; no page loads a script or style sheet from
another host; the MathJax bundle is in ``_static/``; the notation page exists
and the index and theory pages link to it.

In headless Chromium (``docs/cdp.py``; the network off, so a CDN could not
help), every page of the site is opened from ``file://`` and, after MathJax
has typeset it, the rendered DOM must show: every formula typeset (no raw
``\\(``, ``\\)``, ``\\[``, ``\\]`` or ``$$`` left in the text, no MathJax error),
formulas on the lesson, API and theory pages, every image loaded
(``naturalWidth > 0``; lesson pages have figures), every link to the site
resolving to a file (and to its ``#anchor``), no request to anything but
local files, no JavaScript error, the solutions folded, and no horizontal
overflow at a phone's width on the main pages.  At a laptop's width, every
figure that records the size of its smallest text (the study's figures write
it into the PNG, see ``linalg_rnn/rnn/showdown/_figures.py``) must show that
text at 9 px or more at the width the page gives the image, and must be a link
to its full-size file; and no table may be wider than the column it sits in
(a table the reader has to scroll sideways hides its last columns).

Without Chromium the browser part is SKIPPED with a message; under ``CI=true``
a missing Chromium is a failure.  Exits non-zero, naming page and problem,
when anything fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import sys
import time
import zlib
from pathlib import Path
from urllib.parse import unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cdp  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LAPTOP, PHONE = (1366, 900), (390, 844)
SKIP_DIRS = {"_static", "_sources", "_downloads", "_images", "_modules"}
MIN_TEXT_PX = 9  # the smallest text a reader can read on a laptop screen
MIN_TEXT_KEY = "linalg_rnn:min_text_px"  # what the study's figures record in their PNG (its _figures.py)
# Pages whose layout is checked at a phone's width, and screenshotted.
KEY_PAGES = ("index.html", "auto_lessons/01_eigenvalues.html", "auto_lessons/14_showdown.html",
             "api/eigen.html", "theory/products.html", "notation.html", "results.html")

PAGE_JS = r"""
(async () => {
  const later = (ms) => new Promise(r => setTimeout(() => r('timeout'), ms));
  let mathjax = null;
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    const r = await Promise.race([MathJax.startup.promise.then(() => 'ok'), later(30000)]);
    mathjax = r === 'ok' ? MathJax.version : 'timed out';
  }
  const imgs = Array.from(document.images);
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.race([Promise.all(imgs.map(i => i.complete ? 0 :
      new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); }))), later(15000)]);
  const maths = Array.from(document.querySelectorAll('.math'));
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight')
       .forEach(e => e.remove());
  const text = clone.textContent;
  const raw = [];
  for (const pat of ['\\(', '\\)', '\\[', '\\]', '$$']) {
    const i = text.indexOf(pat);
    if (i >= 0) raw.push(text.slice(Math.max(0, i - 40), i + 50).replace(/\s+/g, ' '));
  }
  return {
    mathjax,
    math: maths.length,
    typeset: document.querySelectorAll('mjx-container').length,
    untypeset: maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
    merrors: Array.from(document.querySelectorAll('mjx-merror, [data-mjx-error]'))
                  .map(e => e.getAttribute('data-mjx-error') || e.textContent.slice(0, 80)),
    raw,
    images: imgs.map(i => ({src: i.getAttribute('src') || '', ok: i.complete && i.naturalWidth > 0,
                            figure: /sphx-glr-(single|multi)-img/.test(i.className)})),
    shown: imgs.map(i => ({src: i.getAttribute('src') || '', url: i.src, natural: i.naturalWidth,
                           width: i.getBoundingClientRect().width,
                           link: i.closest('a') ? i.closest('a').href : null})),
    tables: Array.from(document.querySelectorAll('article table')).map(t => {
      const column = t.closest('article'), style = getComputedStyle(column);
      const head = t.querySelector('tr');
      return {width: Math.max(t.getBoundingClientRect().width, t.scrollWidth),
              column: column.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
              head: head ? head.textContent.trim().replace(/\s+/g, ' ').slice(0, 60) : ''};
    }),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    solutions: Array.from(document.querySelectorAll('details.linalg-solution'))
                    .map(d => ({open: d.open, typeset: d.querySelectorAll('mjx-container').length})),
    overflow: document.documentElement.scrollWidth - window.innerWidth,
  };
})()
"""


# -- from the files --------------------------------------------------------------
def solution_counts() -> dict[str, int]:
    """Lesson stem -> number of worked solutions in lessons/solutions/NN_solutions.py."""
    counts = {}
    for lesson in sorted((ROOT / "lessons").glob("[0-9][0-9]_*.py")):
        path = ROOT / "lessons" / "solutions" / f"{lesson.name[:2]}_solutions.py"
        if path.is_file():
            counts[lesson.stem] = len(re.findall(r"^# Exercise \d+$", path.read_text(encoding="utf-8"), re.M))
    return counts


def static_checks(site: Path) -> list[str]:
    problems = []
    lessons = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.py"))
    solutions = solution_counts()
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
        notebook = re.search(r'sphx-glr-download-jupyter.*?href="([^"]+\.ipynb)"', html, re.S)
        if not notebook:
            problems.append(f"{lesson.name}: no link to download the lesson as a Jupyter notebook")
        else:
            target = (page.parent / unquote(notebook.group(1))).resolve()
            try:
                nb = json.loads(target.read_text(encoding="utf-8"))
                if nb.get("nbformat") != 4 or not nb.get("cells"):
                    problems.append(f"{lesson.name}: the notebook download {target.name} has no cells")
            except (OSError, ValueError) as err:
                problems.append(f"{lesson.name}: the notebook download does not load ({err})")
        if "notation.html" not in html:
            problems.append(f"{lesson.name}: the page does not link to the notation page")
        wanted = solutions.get(lesson.stem, 0)
        dropdowns = re.findall(r'<details class="[^"]*linalg-solution[^"]*"([^>]*)>', html)
        if len(dropdowns) != wanted:
            problems.append(
                f"{lesson.name}: {len(dropdowns)} solution dropdowns on the page, {wanted} expected"
            )
        if any("open" in attrs for attrs in dropdowns):
            problems.append(f"{lesson.name}: a solution is unfolded by default")
    remote = re.compile(r'<(?:script|link)\b[^>]*(?:src|href)="((?:https?:)?//[^"]*)"', re.I)
    for page in sorted(site.rglob("*.html")):
        for url in remote.findall(page.read_text(encoding="utf-8")):
            problems.append(f"{page.relative_to(site)}: loads {url} from the network")
    if not (site / "_static" / "mathjax" / "tex-svg-full.js").is_file():
        problems.append("_static/mathjax/tex-svg-full.js is missing: math cannot render offline")
    for page in ("index.html", "api/index.html", "references.html", "theory/index.html", "notation.html"):
        if not (site / page).exists():
            problems.append(f"missing page {page}")
    for page in ["index.html", *(str(p.relative_to(site)) for p in sorted((site / "theory").glob("*.html")))]:
        if (site / page).exists() and "notation.html" not in (site / page).read_text(encoding="utf-8"):
            problems.append(f"{page}: no link to the notation page")
    print(f"check_site: files: {len(lessons)} lesson pages, "
          f"{sum(solutions.values())} worked solutions checked")
    return problems


def png_text(path: Path) -> dict[str, str]:
    """The text chunks (``tEXt``, ``zTXt``, ``iTXt``) of a PNG file, key -> value ({} if it is no PNG)."""
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return {}
    found, at = {}, 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        at += 12 + length
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            found[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            found[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            compressed, rest = rest[0], rest[2:]
            _, _, rest = rest.partition(b"\0")  # language tag
            _, _, text = rest.partition(b"\0")  # translated keyword
            found[key.decode("latin-1")] = (zlib.decompress(text) if compressed else text).decode("utf-8")
        elif kind == b"IEND":
            break
    return found


def readability_problems(result: dict) -> list[str]:
    """Figures whose text is shown below MIN_TEXT_PX or that link nowhere; tables wider than the column."""
    problems = []
    for image in result.get("shown", []):
        parts = urlsplit(image["url"])
        if parts.scheme != "file" or not image["natural"]:
            continue
        recorded = png_text(Path(unquote(parts.path))).get(MIN_TEXT_KEY)
        if recorded is None:
            continue
        shown_px = float(recorded) * image["width"] / image["natural"]
        if shown_px < MIN_TEXT_PX:
            problems.append(f"figure {image['src']}: its smallest text is {shown_px:.1f} px as shown "
                            f"({image['width']:.0f} of its {image['natural']} px), below {MIN_TEXT_PX} px")
        if image["link"] is None or urlsplit(image["link"]).path != parts.path:
            problems.append(f"figure {image['src']}: not a link to its full-size file")
    for table in result.get("tables", []):
        if table["width"] > table["column"] + 1:
            problems.append(f"table ({table['head']!r}...) is {table['width']:.0f} px wide in a "
                            f"{table['column']:.0f} px column: its last columns hide behind a scrollbar")
    return problems


# -- in the browser --------------------------------------------------------------
def site_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html")
                  if not SKIP_DIRS & set(p.relative_to(site).parts[:-1]))


def _anchors(path: Path, cache: dict[Path, set[str]]) -> set[str]:
    if path not in cache:
        cache[path] = set(re.findall(r'\b(?:id|name)="([^"]+)"', path.read_text(encoding="utf-8")))
    return cache[path]


def check_links(site: Path, page: Path, links: list[str], cache: dict) -> tuple[list[str], int]:
    """Every file:// link must name a file of the site (and an anchor that exists in it)."""
    problems, checked = [], 0
    root = site.resolve()
    for url in sorted(set(links)):
        parts = urlsplit(url)
        if parts.scheme != "file":
            continue  # http(s) links leave the site; they are not fetched offline
        checked += 1
        target = Path(unquote(parts.path))
        if target.is_dir():
            target = target / "index.html"
        if root not in target.resolve().parents:
            problems.append(f"link outside the site: {url}")
        elif not target.is_file():
            problems.append(f"broken link: {url}")
        elif (parts.fragment and target.suffix == ".html"
              and unquote(parts.fragment) not in _anchors(target, cache)):
            problems.append(f"link to a missing anchor: {url}")
    return problems, checked


def check_page(page_obj: cdp.Page, site: Path, path: Path, anchors: dict) -> tuple[list[str], dict]:
    rel = path.relative_to(site).as_posix()
    page_obj.goto(path.resolve().as_uri())
    result = page_obj.evaluate(PAGE_JS, timeout=90)
    problems = []
    if result["math"] and result["mathjax"] is None:
        problems.append(f"{result['math']} formulas but MathJax did not load")
    elif result["mathjax"] == "timed out":
        problems.append("MathJax did not finish typesetting in 30 s")
    for snippet in result["untypeset"][:5]:
        problems.append(f"formula not typeset: {snippet!r}")
    for err in result["merrors"][:5]:
        problems.append(f"MathJax error: {err!r}")
    for snippet in result["raw"]:
        problems.append(f"raw TeX in the rendered text: ...{snippet}...")
    for image in result["images"]:
        if not image["ok"]:
            problems.append(f"image did not load: {image['src']}")
    if rel.startswith("auto_lessons/") and rel != "auto_lessons/index.html":
        if not any(i["figure"] for i in result["images"]):
            problems.append("a lesson page without a figure")
    for sol in result["solutions"]:
        if sol["open"]:
            problems.append("a worked solution is unfolded by default")
    for url in page_obj.requested():
        if not url.startswith(cdp.LOCAL_SCHEMES):
            problems.append(f"requested {url} (the site must need no network)")
    problems += [f"failed to load {f}" for f in page_obj.failed()]
    problems += [f"JavaScript error: {e}" for e in page_obj.errors()]
    link_problems, result["links_checked"] = check_links(site, path, result["links"], anchors)
    problems += link_problems
    problems += readability_problems(result)
    return [f"{rel}: {p}" for p in problems], result


def browser_checks(site: Path, screenshots: Path | None) -> list[str] | None:
    executable = cdp.find_chromium()
    if executable is None:
        if os.environ.get("CI", "").lower() in {"true", "1", "yes"}:
            return ["no Chromium found, and CI=true: CI must install it (Debian: apt-get install chromium)"]
        print("check_site: SKIPPED the browser check: no Chromium on this machine "
              "(Debian: apt-get install chromium; or set LINALG_RNN_CHROMIUM). Only the files were checked.")
        return None
    problems: list[str] = []
    totals = {"pages": 0, "typeset": 0, "images": 0, "links": 0}
    kinds = {"lesson": 0, "api": 0, "theory": 0}
    anchors: dict[Path, set[str]] = {}
    start = time.monotonic()
    with cdp.Chromium(executable) as browser:
        page = browser.new_page(*LAPTOP)
        for path in site_pages(site):
            found, result = check_page(page, site, path, anchors)
            problems += found
            rel = path.relative_to(site).as_posix()
            totals["pages"] += 1
            totals["typeset"] += result["typeset"]
            totals["images"] += len(result["images"])
            totals["links"] += result["links_checked"]
            kind = ("lesson" if rel.startswith("auto_lessons/") else "api" if rel.startswith("api/")
                    else "theory" if rel.startswith("theory/") else None)
            if kind and result["typeset"]:
                kinds[kind] += 1
        for kind, count in kinds.items():
            if not count:
                problems.append(f"no {kind} page has a typeset formula")
        page.resize(*PHONE)
        for rel in KEY_PAGES:
            path = site / rel
            if not path.exists():
                continue
            page.goto(path.resolve().as_uri())
            result = page.evaluate(PAGE_JS, timeout=90)
            if result["overflow"] > 1:
                problems.append(f"{rel}: wider than a {PHONE[0]} px phone screen by {result['overflow']} px")
        if screenshots is not None:
            take_screenshots(page, site, screenshots)
    print(f"check_site: browser ({Path(executable).name}, network off): {totals['pages']} pages, "
          f"{totals['typeset']} formulas typeset, {totals['images']} images, {totals['links']} links "
          f"checked in {time.monotonic() - start:.0f} s")
    return problems


def take_screenshots(page: cdp.Page, site: Path, folder: Path) -> None:
    """PNGs of the key pages at a laptop's and a phone's width (top, and a few places further down)."""
    folder.mkdir(parents=True, exist_ok=True)
    places = {"top": None, "table": "table.docutils", "figure": "img.sphx-glr-single-img, article img",
              "solution": "details.linalg-solution"}
    for width, height in (LAPTOP, PHONE):
        page.resize(width, height)
        for rel in KEY_PAGES:
            path = site / rel
            if not path.exists():
                continue
            page.goto(path.resolve().as_uri())
            page.evaluate(PAGE_JS, timeout=90)
            for name, selector in places.items():
                if selector and not page.evaluate(f"!!document.querySelector({json.dumps(selector)})"):
                    continue
                if name == "solution":
                    page.evaluate(f"document.querySelector({json.dumps(selector)}).open = true")
                out = folder / f"{rel.replace('/', '_')[:-5]}-{width}-{name}.png"
                page.screenshot(out, scroll_to=selector)
    print(f"check_site: screenshots in {folder}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("site", nargs="?", type=Path, default=ROOT / "docs" / "_build" / "html")
    parser.add_argument("--no-browser", action="store_true", help="check the files only")
    parser.add_argument("--screenshots", type=Path, help="also save screenshots of the key pages here")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"check_site: no built site in {args.site} (run python3 make.py docs)")
        return 1
    problems = static_checks(args.site)
    if not args.no_browser:
        problems += browser_checks(args.site, args.screenshots) or []
    for line in problems:
        print("check_site:", line)
    print(f"check_site: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
