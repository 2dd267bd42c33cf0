"""The site's math renders offline, and the browser check catches what a reader would see broken.

The real site is checked by ``docs/check_site.py`` after the docs build (CI
runs it); these tests check the checker, on small hand-made pages, in the same
headless Chromium.  Without Chromium they skip, except under ``CI=true``,
where CI must have installed it.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
IN_CI = os.environ.get("CI", "").lower() in {"true", "1", "yes"}


sys.path.insert(0, str(DOCS))
import cdp  # noqa: E402
import check_site  # noqa: E402

sys.path.remove(str(DOCS))
offline_math = load_script("linalg_rnn_docs_offline_math", DOCS / "_ext" / "offline_math.py")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


# -- math without a network -------------------------------------------------------
def test_the_mathjax_bundle_is_mathjax_3_from_an_installed_package():
    root = offline_math.mathjax_distribution()
    assert (root / "es5" / offline_math.BUNDLE).stat().st_size > 1_000_000
    assert '"version": "3.' in (root / "package.json").read_text(encoding="utf-8")


def test_the_docs_load_mathjax_from_the_site_and_never_from_a_cdn(tmp_path):
    from sphinx.application import Sphinx

    src = tmp_path / "src"
    _write(src / "conf.py", f'''
        import sys
        sys.path.insert(0, {str(DOCS / "_ext")!r})
        extensions = ["offline_math"]
        mathjax_path = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"  # overridden
    ''')
    _write(src / "index.rst", "Math\n====\n\n:math:`x^2`\n\n.. toctree::\n\n   plain\n")
    _write(src / "plain.rst", "No math here\n============\n\nText.\n")
    out = tmp_path / "html"
    Sphinx(str(src), str(src), str(out), str(out / ".doctrees"), "html",
           status=None, warning=None, freshenv=True, warningiserror=True).build()
    assert (out / "_static" / "mathjax" / offline_math.BUNDLE).is_file()
    assert (out / "_static" / "mathjax" / "LICENSE").is_file()
    for page in ("index.html", "plain.html"):  # every page, since titles in the navigation can hold math
        html = (out / page).read_text(encoding="utf-8")
        scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
        assert any("_static/mathjax/tex-svg-full.js" in s for s in scripts), page
        assert not [s for s in scripts if "//" in s], f"{page} loads a script from the network"


def test_the_project_conf_uses_the_offline_renderer_and_the_solutions():
    conf = (DOCS / "conf.py").read_text(encoding="utf-8")
    assert '"offline_math"' in conf and '"solutions"' in conf
    assert "sphinx.ext.mathjax" not in conf.split("extensions = [")[1].split("]")[0], \
        "offline_math sets up sphinx.ext.mathjax itself, pointed at the local bundle"


# -- the browser check ---------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    executable = cdp.find_chromium()
    if executable is None:
        if IN_CI:
            pytest.fail("CI=true but no Chromium: .ci/run must install Debian's chromium")
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    with cdp.Chromium(executable) as chromium:
        yield chromium.new_page(*check_site.LAPTOP)


PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2a7a6"
    "6c0000000049454e44ae426082"
)


@pytest.fixture
def site(tmp_path):
    """A two-page site that serves MathJax from its own _static/, like the real one."""
    static = tmp_path / "_static" / "mathjax"
    static.mkdir(parents=True)
    shutil.copyfile(offline_math.mathjax_distribution() / "es5" / offline_math.BUNDLE,
                    static / offline_math.BUNDLE)
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "fig.png").write_bytes(PNG_1x1)
    _write(tmp_path / "other.html", '<html><body><h1 id="part">Other</h1></body></html>')
    return tmp_path


GOOD = """
<html><head><script defer src="_static/mathjax/tex-svg-full.js"></script></head>
<body><article>
<p>Inline <span class="math notranslate nohighlight">\\(W_{hh}^\\top\\)</span> and display:</p>
<div class="math notranslate nohighlight">\\[\\|W^t\\|_2 \\le \\|W\\|_2^t\\]</div>
<img class="sphx-glr-single-img" src="_images/fig.png" alt="a figure">
<p><a href="other.html#part">the other page</a>, <a href="https://example.org/">a paper</a></p>
<pre>code may hold \\( and $$ freely</pre>
</article></body></html>
"""


def test_a_page_that_renders_passes(browser, site):
    _write(site / "good.html", GOOD)
    problems, result = check_site.check_page(browser, site, site / "good.html", {})
    assert problems == []
    assert result["mathjax"].startswith("3.")
    assert result["math"] == 2 and result["typeset"] >= 2
    assert result["images"] == [{"src": "_images/fig.png", "ok": True, "figure": True}]
    assert result["links_checked"] == 1  # the https link is not followed offline


def test_math_from_a_cdn_stays_raw_offline_and_every_fault_is_named(browser, site):
    bad = (GOOD.replace("_static/mathjax/tex-svg-full.js",
                        "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js")
               .replace("_images/fig.png", "_images/missing.png")
               .replace("other.html#part", "other.html#nowhere")
           + '<p><a href="gone.html">gone</a></p>')
    _write(site / "bad.html", bad)
    problems, _ = check_site.check_page(browser, site, site / "bad.html", {})
    text = "\n".join(problems)
    assert "2 formulas but MathJax did not load" in text
    assert "raw TeX in the rendered text" in text and "\\(W_{hh}" in text
    assert "requested https://cdn.jsdelivr.net/" in text
    assert "image did not load: _images/missing.png" in text
    assert "link to a missing anchor" in text and "other.html#nowhere" in text
    assert "broken link" in text and "gone.html" in text


def test_a_mathjax_error_and_an_unfolded_solution_are_problems(browser, site):
    page = (GOOD.replace("\\(W_{hh}^\\top\\)", "\\(\\frac{1}\\)")
                .replace("</article>", '<details class="linalg-solution" open><summary>S</summary>'
                                       "x</details></article>"))
    _write(site / "err.html", page)
    problems, _ = check_site.check_page(browser, site, site / "err.html", {})
    text = "\n".join(problems)
    assert "MathJax error" in text
    assert "unfolded by default" in text


def test_the_browser_check_skips_loudly_without_chromium_and_fails_in_ci(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cdp, "find_chromium", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    assert check_site.browser_checks(tmp_path, None) is None
    assert "SKIPPED the browser check" in capsys.readouterr().out
    monkeypatch.setenv("CI", "true")
    problems = check_site.browser_checks(tmp_path, None)
    assert problems and "CI=true" in problems[0]


def test_the_file_check_flags_a_script_from_another_host(tmp_path):
    _write(tmp_path / "index.html", '<script src="https://cdn.example.org/x.js"></script>')
    problems = check_site.static_checks(tmp_path)
    assert "index.html: loads https://cdn.example.org/x.js from the network" in problems


# -- readable figures and tables (the results page) -----------------------------------
def _png(width: int, min_text_px: float | None) -> bytes:
    """A white PNG ``width`` x 10 px recording (or not) the size of its smallest text, as the study's do."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, 10, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = zlib.compress(b"".join(b"\x00" + b"\xff" * width for _ in range(10)))
    text = chunk(b"tEXt", f"{check_site.MIN_TEXT_KEY}\0{min_text_px}".encode()) if min_text_px else b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + text + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _figure_page(site: Path, name: str, width: int, min_text_px: float | None, linked: bool = True) -> Path:
    (site / "_images" / f"{name}.png").write_bytes(_png(width, min_text_px))
    img = f'<img src="_images/{name}.png" alt="a study figure" style="max-width: 100%">'  # as the site's CSS
    body = f'<a href="_images/{name}.png">{img}</a>' if linked else img
    return _write(site / f"{name}.html",
                  f'<html><body><article style="width: 700px">{body}</article></body></html>')


def test_the_png_text_reader_finds_what_the_study_figures_record():
    from linalg_rnn.rnn.showdown._figures import MIN_TEXT_KEY, _example, figure_png, plot_headline

    assert MIN_TEXT_KEY == check_site.MIN_TEXT_KEY
    rows, _ = _example()
    tmp = Path(__import__("tempfile").mkdtemp()) / "f.png"
    tmp.write_bytes(figure_png(plot_headline(rows)))
    assert float(check_site.png_text(tmp)[MIN_TEXT_KEY]) >= check_site.MIN_TEXT_PX


def test_a_figure_shown_at_its_natural_width_with_11_px_text_and_a_link_passes(browser, site):
    page = _figure_page(site, "readable", 700, 11.1)
    problems, result = check_site.check_page(browser, site, page, {})
    assert problems == []
    assert result["shown"][0]["natural"] == 700


def test_a_figure_squeezed_below_9_px_text_is_a_problem(browser, site):
    page = _figure_page(site, "squeezed", 1400, 11.2)  # shown at 700 of 1400 px: its 11 px text is 5.6 px
    problems, _ = check_site.check_page(browser, site, page, {})
    assert problems == ["squeezed.html: figure _images/squeezed.png: its smallest text is 5.6 px as shown "
                        "(700 of its 1400 px), below 9 px"]


def test_a_study_figure_that_is_no_link_to_its_file_is_a_problem(browser, site):
    page = _figure_page(site, "unlinked", 700, 11.1, linked=False)
    problems, _ = check_site.check_page(browser, site, page, {})
    assert problems == ["unlinked.html: figure _images/unlinked.png: not a link to its full-size file"]


def test_a_figure_that_records_nothing_is_not_judged(browser, site):
    page = _figure_page(site, "lesson_figure", 1400, None, linked=False)
    assert check_site.check_page(browser, site, page, {})[0] == []


def test_a_table_wider_than_its_column_is_a_problem(browser, site):
    cells = "".join(f"<td>column{k}_with_a_long_unbreakable_value</td>" for k in range(8))
    _write(site / "wide.html", '<html><body><article style="width: 600px"><div style="overflow-x: auto">'
                               f"<table><tr>{cells}</tr></table></div></article></body></html>")
    problems, _ = check_site.check_page(browser, site, site / "wide.html", {})
    assert len(problems) == 1 and "px wide in a 600 px column" in problems[0], problems
    _write(site / "narrow.html", '<html><body><article style="width: 600px"><table><tr><td>a</td><td>b</td>'
                                 "</tr></table></article></body></html>")
    assert check_site.check_page(browser, site, site / "narrow.html", {})[0] == []
