"""tools/setup_env.sh's two profiles, run for real against a stub python.

The stub stands in for the interpreter (``python -m venv``, ``python -m pip
install / uninstall / show``, ``python -c CHECK``) and keeps a tiny package
database in a temp dir: ``mmcv`` and ``mmcv-lite`` install the same module, so
installing one over the other is recorded as a clobber. The script's own
logic (flag / env variable, stamp, no implicit downgrade, lite -> ops swap)
runs unchanged; nothing is downloaded.
"""
import os
import os.path as osp
import subprocess
import textwrap

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools', 'setup_env.sh')

STUB = textwrap.dedent(r'''
    #!/usr/bin/env bash
    # stub interpreter for tests/test_tools/test_setup_env.py
    db="$STUB_STATE/dist"; mkdir -p "$db"
    echo "$*" >> "$STUB_STATE/calls"
    if [ "$1" = -m ] && [ "$2" = venv ]; then
      mkdir -p "$3/bin"; cp "$0" "$3/bin/python"; exit 0
    fi
    if [ "$1" = -m ] && [ "$2" = pip ]; then
      sub="$3"; shift 3
      case "$sub" in
        show) [ -f "$db/${@: -1}" ]; exit ;;
        uninstall)
          for a in "$@"; do case "$a" in -*) ;; *) rm -f "$db/$a" ;; esac; done
          exit 0 ;;
        install)
          for a in "$@"; do
            case "$a" in
              mmcv-lite==*) [ -f "$db/mmcv" ] && echo clobber >> "$STUB_STATE/errors"
                            touch "$db/mmcv-lite" ;;
              mmcv==*) [ -f "$db/mmcv-lite" ] && echo clobber >> "$STUB_STATE/errors"
                       echo "MMCV_WITH_OPS=${MMCV_WITH_OPS:-}" > "$db/mmcv" ;;
            esac
          done
          exit 0 ;;
      esac
    fi
    [ "$1" = -W ] && shift 2
    if [ "$1" = -c ]; then
      case "$2" in
        *"mmcv.ops"*) grep -q MMCV_WITH_OPS=1 "$db/mmcv" 2>/dev/null || exit 1 ;;
      esac
      case "$2" in
        *"import torch, mmcv"*) [ -f "$db/mmcv" ] || [ -f "$db/mmcv-lite" ] || exit 1 ;;
      esac
      exit 0
    fi
    echo "stub: unexpected call: $*" >&2; exit 3
''').lstrip()


@pytest.fixture
def env(tmp_path):
    state = tmp_path / 'state'
    state.mkdir()
    stub = tmp_path / 'python3'
    stub.write_text(STUB)
    stub.chmod(0o755)
    venv = tmp_path / 'venv'

    def run(*args, with_ops_env=None, torch_spec=None, check=True):
        e = dict(os.environ, PYTHON=str(stub), VENV_DIR=str(venv),
                 STUB_STATE=str(state))
        e.pop('MMIIVCL_WITH_OPS', None)
        e.pop('TORCH_SPEC', None)
        if with_ops_env is not None:
            e['MMIIVCL_WITH_OPS'] = with_ops_env
        if torch_spec is not None:
            e['TORCH_SPEC'] = torch_spec
        calls = state / 'calls'
        if calls.exists():
            calls.unlink()
        p = subprocess.run(['bash', SCRIPT, *args], env=e, text=True,
                           capture_output=True, timeout=60)
        if check:
            assert p.returncode == 0, p.stderr
        lines = calls.read_text().splitlines() if calls.exists() else []
        return p, lines

    def dists():
        d = state / 'dist'
        return sorted(os.listdir(d)) if d.exists() else []

    def stamp():
        return (venv / '.mmiivcl-env-stamp').read_text().split()

    def errors():
        f = state / 'errors'
        return f.read_text() if f.exists() else ''

    run.dists, run.stamp, run.errors, run.venv = dists, stamp, errors, venv
    return run


def _installs(calls, name):
    return [c for c in calls if c.startswith('-m pip install')
            and any(a.startswith(name + '==') for a in c.split())]


def test_lite_default_then_idempotent(env):
    p, calls = env()
    assert p.stdout.strip().splitlines()[-1] == str(env.venv / 'bin/python')
    assert env.dists() == ['mmcv-lite']
    assert _installs(calls, 'mmcv-lite') and not _installs(calls, 'mmcv')
    assert env.stamp()[1] == 'lite'
    # second call: stamp matches, nothing is installed
    p, calls = env()
    assert not [c for c in calls if c.startswith('-m pip install')], calls
    assert 'up to date (lite profile)' in p.stderr
    assert p.stdout.strip().splitlines()[-1] == str(env.venv / 'bin/python')


@pytest.mark.parametrize('how', ['flag', 'env'])
def test_ops_in_a_lite_env_swaps_the_package(env, how):
    env()
    assert env.dists() == ['mmcv-lite']
    if how == 'flag':
        p, calls = env('--with-ops')
    else:
        p, calls = env(with_ops_env='1')
    # mmcv-lite is uninstalled before the full mmcv is built (same module)
    uninstall = [i for i, c in enumerate(calls)
                 if c.startswith('-m pip uninstall') and 'mmcv-lite' in c]
    build = [i for i, c in enumerate(calls)
             if c.startswith('-m pip install') and 'mmcv==2.1.0' in c]
    assert uninstall and build and uninstall[0] < build[0], calls
    assert env.dists() == ['mmcv'] and env.errors() == ''
    assert env.stamp()[1] == 'ops'
    assert p.stdout.strip().splitlines()[-1] == str(env.venv / 'bin/python')
    # again with ops: up to date
    p, calls = env('--with-ops')
    assert 'up to date (ops profile)' in p.stderr
    assert not [c for c in calls if c.startswith('-m pip')]


def test_ops_env_is_never_downgraded(env):
    env('--with-ops')
    assert env.dists() == ['mmcv'] and env.stamp()[1] == 'ops'
    # a lite call (tools/run_demo.sh) accepts the ops env as a superset
    p, calls = env()
    assert 'up to date (ops profile)' in p.stderr
    assert not [c for c in calls if c.startswith('-m pip')]
    # a stale stamp (another torch) with a lite call: reinstalls, keeps ops
    p, calls = env(torch_spec='torch==2.12.0')
    assert any('torch==2.12.0' in c for c in calls if 'install' in c)
    assert not _installs(calls, 'mmcv-lite')
    assert not [c for c in calls if c.startswith('-m pip uninstall')]
    assert env.dists() == ['mmcv'] and env.errors() == ''
    assert env.stamp()[1] == 'ops' and 'keeping it' in p.stderr
    # the ops were already importable: no rebuild
    assert not _installs(calls, 'mmcv')


def test_old_stamp_without_profile_keeps_an_ops_env(env):
    env('--with-ops')
    stamp = env.venv / '.mmiivcl-env-stamp'
    stamp.write_text(env.stamp()[0] + '\n')  # the format before profiles
    p, calls = env()
    assert env.stamp()[1] == 'ops' and env.dists() == ['mmcv']
    assert not _installs(calls, 'mmcv-lite')


def test_bad_arguments_fail_with_usage(env):
    p, _ = env('--ops', check=False)
    assert p.returncode == 2 and '--with-ops' in p.stderr
    p, _ = env(with_ops_env='yes', check=False)
    assert p.returncode == 2 and 'MMIIVCL_WITH_OPS' in p.stderr
    assert not env.venv.exists()
