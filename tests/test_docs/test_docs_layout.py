"""The README is a front page and docs/ holds every text once.

* README.md stays within 300 lines and keeps the markers other work fills in;
* no README line of 60 or more characters is repeated in docs/ more than a
  handful of times in all (copies drift: the same number quoted three ways);
* every relative link in README.md and docs/*.md points at an existing file.
"""
import glob
import os.path as osp
import re

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
README = osp.join(REPO, 'README.md')
DOCS = sorted(glob.glob(osp.join(REPO, 'docs', '*.md')))
#: pages of the documentation the README's table links to
PAGES = ('get_started', 'pretraining', 'vclr', 'transfer', 'ava', 'inspect',
         'troubleshooting', 'reproduction', 'demo_notes', 'design')
#: pages written by parallel work (install guide, cost model); linked before
#: they land, checked once they exist
PENDING = {'docs/install.md', 'docs/cost_model.md'}
#: "a handful": README lines found again in docs/, counted with repeats
MAX_REPEATS = 5


def _read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def long_line_repeats(readme: str, pages: dict, min_len: int = 60) -> list:
    """(README line, page, count) for every README line of at least
    ``min_len`` characters (stripped) that a page contains as a line."""
    found = []
    lines = {ln.strip() for ln in readme.splitlines()
             if len(ln.strip()) >= min_len}
    for name, text in pages.items():
        page_lines = [ln.strip() for ln in text.splitlines()]
        for ln in sorted(lines):
            n = page_lines.count(ln)
            if n:
                found.append((ln, name, n))
    return found


def test_long_line_repeats_counts_copies():
    # the checker against a hand count: 2 copies of a long line in one page,
    # 1 in another; short lines and lines inside other lines do not count
    long = 'x' * 60
    readme = f'{long}\nshort line\n{"y" * 59}\n'
    pages = dict(a=f'{long}\n  {long}  \nshort line\n',
                 b=f'prefix {long}\n{long}\n{"y" * 59}\n')
    got = long_line_repeats(readme, pages)
    assert sorted((p, n) for _, p, n in got) == [('a', 2), ('b', 1)]


def test_readme_is_a_front_page():
    text = _read(README)
    assert len(text.splitlines()) <= 300
    for marker in ('main-job-table', 'install', 'performance'):
        assert f'<!-- {marker} -->' in text and f'<!-- /{marker} -->' in text
    assert '<!-- data-policy' in text
    for cmd in ('bash tools/run_demo.sh', 'bash tools/run_tests.sh'):
        assert cmd in text
    for page in PAGES:
        assert f'(docs/{page}.md' in text, page


def test_docs_pages_exist():
    names = {osp.splitext(osp.basename(p))[0] for p in DOCS}
    assert set(PAGES) <= names
    assert "\n## The paper's recipe at scale" in _read(
        osp.join(REPO, 'docs', 'pretraining.md'))


def test_no_readme_text_copied_into_docs():
    pages = {osp.relpath(p, REPO): _read(p) for p in DOCS}
    found = long_line_repeats(_read(README), pages)
    total = sum(n for _, _, n in found)
    assert total <= MAX_REPEATS, '\n'.join(
        f'{n}x in {p}: {ln}' for ln, p, n in found)


LINK = re.compile(r'\]\(([^)#\s]*)(?:#([^)\s]*))?\)|src="([^"#]+)"')


def github_slugs(markdown: str) -> set:
    """Anchors GitHub gives the headings of a page: lower case, punctuation
    other than '-' and '_' dropped, spaces to '-' (code fences skipped)."""
    text = re.sub(r'```.*?```', '', markdown, flags=re.S)
    slugs = set()
    for h in re.findall(r'^#{1,6}\s+(.+?)\s*$', text, flags=re.M):
        s = re.sub(r'[^\w\- ]', '', h.lower().replace('`', ''))
        slugs.add(s.replace(' ', '-'))
    return slugs


def test_github_slugs_hand_examples():
    page = ('# Get started\n## 3. Pre-flight: `tools/check_videos.py`\n'
            '```\n# not a heading\n```\n## The demo data, and why\n')
    assert github_slugs(page) == {
        'get-started', '3-pre-flight-toolscheck_videospy',
        'the-demo-data-and-why'}


@pytest.mark.parametrize('path', [README] + DOCS, ids=osp.basename)
def test_relative_links_resolve(path):
    missing = []
    for m in LINK.finditer(_read(path)):
        target, anchor = (m.group(1) or m.group(3) or ''), m.group(2)
        if re.match(r'[a-z]+:', target):
            continue  # http(s), mailto
        full = osp.normpath(osp.join(osp.dirname(path), target or
                                     osp.basename(path)))
        rel = osp.relpath(full, REPO)
        if not osp.exists(full):
            if rel not in PENDING:
                missing.append(target)
        elif anchor and full.endswith('.md') and \
                anchor not in github_slugs(_read(full)):
            missing.append(f'{target}#{anchor}')
    assert not missing, f'{osp.relpath(path, REPO)}: broken links {missing}'
