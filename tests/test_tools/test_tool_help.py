"""Tool help tells: every flag of every ``tools/*.py`` and
``benchmarks/*.py`` has a help text and its parser prints the defaults
(ArgumentDefaultsHelpFormatter); the launch
scripts print their usage on ``--help`` and pick the same interpreter."""
import ast
import glob
import os.path as osp
import subprocess

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = sorted(glob.glob(osp.join(REPO, 'tools', '*.py')))
SCRIPTS = TOOLS + sorted(glob.glob(osp.join(REPO, 'benchmarks', '*.py')))


def _defaults_formatters(tree: ast.Module) -> set:
    """Names usable as formatter_class that print defaults: the argparse
    class itself, the shared ``mmiivcl.utils.cli.HelpFormatter`` when
    imported, and module-level classes deriving from either."""
    names = {'argparse.ArgumentDefaultsHelpFormatter'}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and \
                node.module == 'mmiivcl.utils.cli':
            names |= {a.asname or a.name for a in node.names
                      if a.name == 'HelpFormatter'}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(
                ast.unparse(b) in names for b in node.bases):
            names.add(node.name)
    return names


def _calls(tree: ast.Module, attr: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(
                node.func, ast.Attribute) and node.func.attr == attr:
            yield node


def test_shared_formatter_and_feature_flags_print_defaults():
    import argparse

    from mmiivcl.utils.cli import HelpFormatter, add_feature_args
    assert issubclass(HelpFormatter, argparse.ArgumentDefaultsHelpFormatter)
    p = argparse.ArgumentParser(formatter_class=HelpFormatter)
    add_feature_args(p)
    text = ' '.join(p.format_help().split())
    for flag, default in (('--batch-size', '8'), ('--num-workers', '2'),
                          ('--min-load-ratio', '0.9')):
        assert flag in text and f'(default: {default})' in text


def test_there_are_tools():
    assert len(TOOLS) >= 10


@pytest.mark.parametrize('path', SCRIPTS, ids=osp.basename)
def test_every_flag_has_help_and_shows_its_default(path):
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read())
    formatters = _defaults_formatters(tree)
    parsers = list(_calls(tree, 'ArgumentParser'))
    for parser in parsers:
        kw = {k.arg: ast.unparse(k.value) for k in parser.keywords}
        assert kw.get('formatter_class') in formatters, (
            f'{osp.basename(path)}:{parser.lineno}: the parser does not '
            'print defaults (formatter_class)')
    missing = []
    for call in _calls(tree, 'add_argument'):
        if not any(k.arg == 'help' for k in call.keywords):
            missing.append(f'{ast.unparse(call.args[0])} (line {call.lineno})')
    assert not missing, f'{osp.basename(path)}: flags without help: {missing}'
    if any(True for _ in _calls(tree, 'add_argument')):
        assert parsers, 'flags without an ArgumentParser?'


@pytest.mark.parametrize('cuda', [True, False])
@pytest.mark.parametrize('name', ['retrieval.py', 'visualize_tsne.py'])
def test_gpu_capable_tools_default_to_cuda_when_available(name, cuda,
                                                         monkeypatch):
    """The parsed default of --device follows torch.cuda.is_available();
    --min-load-ratio is the flag tools/test.py has."""
    import importlib.util

    import torch
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    spec = importlib.util.spec_from_file_location(
        f'tool_{name[:-3]}', osp.join(REPO, 'tools', name))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    extra = ['--list', 'l.txt', '--out', 'o.png'] \
        if name == 'visualize_tsne.py' else []
    args = tool.parse_args(['cfg.py', *extra, '--min-load-ratio', '0.5'])
    assert args.device == ('cuda' if cuda else 'cpu')
    assert args.min_ratio == 0.5


LAUNCHERS = ('dist_train.sh', 'dist_test.sh', 'slurm_train.sh')


@pytest.mark.parametrize('name', LAUNCHERS)
def test_launchers_print_usage(name):
    script = osp.join(REPO, 'tools', name)
    out = subprocess.run(['bash', script, '--help'], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f'Usage: tools/{name} ')
    assert 'PYTHON' in out.stdout
    # missing arguments: usage on stderr and a non-zero status, no launch
    out = subprocess.run(['bash', script], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 2 and 'Usage:' in out.stderr


def test_launchers_use_the_same_interpreter():
    lines = set()
    for name in LAUNCHERS:
        with open(osp.join(REPO, 'tools', name), encoding='utf-8') as f:
            py = [ln for ln in f if ln.startswith('PY=')]
        assert len(py) == 1, name
        lines.add(py[0])
    assert len(lines) == 1
    assert '.venv/bin/python' in lines.pop()


@pytest.mark.parametrize('path', TOOLS + sorted(glob.glob(
    osp.join(REPO, 'tools', 'data', '*.py'))), ids=osp.basename)
def test_tools_are_thin(path):
    """A tool is a CLI over the package: at most 400 lines, and it imports
    no other tool through sys.path."""
    with open(path, encoding='utf-8') as f:
        src = f.read()
    assert len(src.splitlines()) <= 400, osp.basename(path)
    tree = ast.parse(src)
    others = {osp.splitext(osp.basename(t))[0] for t in TOOLS}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(
                node, ast.Import) else [node.module or '']
            assert not any(n.split('.')[0] in others for n in names), (
                f'{osp.basename(path)} imports another tool: {names}')
