"""The lite install profile (mmcv-lite: no compiled ops), simulated in a
subprocess of the ops environment: an import blocker makes ``mmcv._ext``
unfindable, exactly what mmcv-lite lacks (its ``mmcv.ops`` package is there
but fails to load ``mmcv._ext``). There ``import mmiivcl`` works, pretraining
and transfer configs build, and an AVA config fails with the one line that
says how to get the ops -- raised when ``custom_imports`` imports mmiivcl.
"""
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

PROBE = textwrap.dedent('''
    import json, sys

    class _NoOps:
        """The lite profile: mmcv has no compiled extension."""

        def find_spec(self, name, path=None, target=None):
            if name == 'mmcv._ext':
                raise ModuleNotFoundError(
                    "No module named 'mmcv._ext' (blocked)", name=name)
            return None

    sys.meta_path.insert(0, _NoOps())
    out = {}
    try:
        import mmcv.ops  # noqa: F401
        out['ops_import'] = 'ok'
    except ImportError as e:
        out['ops_import'] = type(e).__name__
    sys.modules.pop('mmcv.ops', None)

    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    # custom_imports=['mmiivcl'] of the AVA config imports mmiivcl here
    ava = Config.fromfile('configs/downstream/ava/r3d50_8x8_ava22.py')
    out['mmiivcl_imported_by_config'] = 'mmiivcl' in sys.modules
    from mmaction.registry import MODELS
    init_default_scope('mmaction')
    try:
        MODELS.build(ava.model)
        out['ava'] = 'built'
    except Exception as e:
        out['ava'] = [type(e).__name__, str(e)]
    for name, path in [('pretrain', 'configs/demo/iivcl_r3d18_demo.py'),
                       ('transfer',
                        'configs/downstream/demo/finetune_r3d18_demo.py')]:
        cfg = Config.fromfile(path)
        out[name] = type(MODELS.build(cfg.model)).__name__
    out['loaded'] = sorted(m for m in sys.modules
                           if m in ('mmcv.ops', 'mmcv._ext', 'mmdet.models'))
    print('PROBE ' + json.dumps(out))
''')


def test_lite_profile_builds_everything_but_ava():
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    p = subprocess.run([sys.executable, '-c', PROBE], cwd=REPO, env=env,
                       text=True, capture_output=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    line = [x for x in p.stdout.splitlines() if x.startswith('PROBE ')][-1]
    out = json.loads(line[len('PROBE '):])
    # the blocker reproduces mmcv-lite: mmcv.ops cannot load
    assert out['ops_import'] == 'ModuleNotFoundError'
    assert out['mmiivcl_imported_by_config']
    assert out['pretrain'] == 'IIVCL'
    assert out['transfer'] == 'Recognizer3D'
    kind, msg = out['ava']
    assert kind == 'MissingOpsError', out['ava']
    assert '\n' not in msg
    assert 'bash tools/setup_env.sh --with-ops' in msg
    assert 'FastRCNN' in msg
    # nothing imported mmcv's ops or mmdet's models on the way
    assert out['loaded'] == []
