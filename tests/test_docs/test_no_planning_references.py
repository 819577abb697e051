"""No reference to documents a user cannot open.

Code, configs, tools, tests and docs cite the papers by name ("IIVCL paper,
Eq. 4", "VCLR paper, Sec. 3.2", "Algorithm 1") or a section of
docs/design.md -- never internal planning documents ("DESIGN §N", "issue N",
"user need N") or the papers' file names ("seed 001").
"""
import os
import os.path as osp
import re

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
THIS = osp.abspath(__file__)
#: folders that are not the project's text: VCS, environment, outputs, data
SKIP_DIRS = {'.git', '.venv', 'work_dirs', 'data', '__pycache__',
             '.pytest_cache', 'build', 'dist'}
PLANNING = re.compile(
    r'(?-i:DESIGN)\s*§|(?-i:DESIGN\.md)|anchors\s*§'
    r'|\bissues?\s*#?\d+(?:\.\d+)?\b'
    r'|\buser[ _]needs?\b'
    r'|\bseeds?\s+00[0-2]\b',
    flags=re.IGNORECASE)


def planning_references(text: str):
    """(line number, match) of every planning reference in ``text``."""
    return [(text.count('\n', 0, m.start()) + 1, m.group(0))
            for m in PLANNING.finditer(text)]


def _project_text_files():
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS
                   and not d.endswith('.egg-info')]
        if osp.relpath(root, REPO).split(os.sep)[0] == 'data':
            continue
        for name in files:
            path = osp.join(root, name)
            if osp.abspath(path) == THIS:
                continue
            try:
                with open(path, encoding='utf-8') as f:
                    yield path, f.read()
            except (UnicodeDecodeError, OSError):
                continue  # binary (figures, checkpoints)


def test_the_pattern_catches_what_it_should():
    text = ('see DESIGN §10\n(issue 7.3) and issue #4\nuser needs item 52\n'
            'as in seed 001, Table 6; seeds 002\nDESIGN.md says\n')
    assert [n for n, _ in planning_references(text)] == [1, 2, 2, 3, 4, 4, 5]
    # paper citations, seeds of runs and upstream issue links are fine
    ok = ('IIVCL paper, Eq. 4; VCLR paper, Sec. 3.2; Algorithm 1; '
          'docs/design.md#loss-composition; --seeds 0 1 2; seed 0; '
          'open-mmlab/mmaction2#1086; dmlc/decord#373; tissue 3')
    assert planning_references(ok) == []


def test_no_planning_references_in_the_repository():
    found = []
    for path, text in _project_text_files():
        for line, match in planning_references(text):
            found.append(f'{osp.relpath(path, REPO)}:{line}: {match}')
    assert not found, 'planning references:\n' + '\n'.join(found)
