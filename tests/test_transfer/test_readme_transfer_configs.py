"""Every config the README's Transfer section names exists, parses and
builds its model (issue #4: "every config in the README's Transfer section
builds"). The configs' training and test iterations run in
test_downstream_configs_*.py and test_demo_finetune.py."""
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _transfer_section_configs():
    with open(osp.join(REPO, 'README.md')) as f:
        text = f.read()
    start = text.index('\n## Transfer')
    end = text.index('\n## ', start + 1)
    return sorted(set(re.findall(r'configs/[\w/.-]+\.py', text[start:end])))


CONFIGS = _transfer_section_configs()


def test_the_section_names_the_configs():
    # the finetune, linear, few-shot and demo configs of both algorithms
    assert len(CONFIGS) >= 15
    for kind in ('ucf101', 'hmdb51', 'sthv2', 'k400_linear', 'fewshot',
                 'tsn_r2d50', 'tsm_r2d50', 'demo'):
        assert any(kind in c for c in CONFIGS), kind


@pytest.mark.parametrize('path', CONFIGS)
def test_readme_transfer_config_builds(path):
    import mmiivcl  # noqa: F401
    from mmaction.registry import MODELS
    full = osp.join(REPO, path)
    assert osp.isfile(full), f'README names a missing config: {path}'
    cfg = Config.fromfile(full)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
