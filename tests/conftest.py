"""Shared fixtures.

Tests that read ``../shared/data`` use the ``shared_data`` fixture: it skips with
a reason when the folder is absent (a user's clone), unless
``MMIIVCL_REQUIRE_SHARED=1`` (set by .ci/run), which turns the skip into a
failure.
"""
import importlib.util
import os
import os.path as osp

import pytest

import mmiivcl  # noqa: F401  (compat patches + registration)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_DATA = os.environ.get('MMIIVCL_SHARED_DATA',
                             osp.join(REPO, '..', 'shared', 'data'))


def _require_shared() -> str:
    if osp.isdir(SHARED_DATA):
        return osp.abspath(SHARED_DATA)
    msg = f'../shared/data not found at {SHARED_DATA}'
    if os.environ.get('MMIIVCL_REQUIRE_SHARED') == '1':
        pytest.fail(msg + ' (MMIIVCL_REQUIRE_SHARED=1)')
    pytest.skip(msg)


@pytest.fixture(scope='session')
def shared_data() -> str:
    """Absolute path of ../shared/data (skip or fail when absent)."""
    return _require_shared()


@pytest.fixture(scope='session')
def kinetics_clips(shared_data) -> list:
    d = osp.join(shared_data, 'videos', 'kinetics')
    return sorted(osp.join(d, f) for f in os.listdir(d))


@pytest.fixture(scope='session')
def repo_root() -> str:
    return REPO


def load_tool(name: str):
    """Import tools/<name>.py as a module (tools are scripts, not package
    modules; pytest's importlib mode does not let tests import conftest, so
    test modules get this through the ``tool_module`` fixture)."""
    path = osp.join(REPO, 'tools', name + '.py')
    spec = importlib.util.spec_from_file_location('mmiivcl_tool_' + name,
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def tool_module():
    """``tool_module('run_demo')`` -> tools/run_demo.py as a module."""
    return load_tool
