"""Every config the transfer documentation names exists, parses and builds
its model: docs/transfer.md (the transfer page) and the downstream rows of the
README's Recipes table. The configs' training and test iterations run in
test_downstream_configs_*.py and test_demo_finetune.py."""
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _section(text: str, heading: str) -> str:
    """The text of the level-2 section ``heading`` up to the next one."""
    start = text.index('\n## ' + heading)
    end = text.find('\n## ', start + 1)
    return text[start:] if end < 0 else text[start:end]


def _transfer_section_configs():
    with open(osp.join(REPO, 'docs', 'transfer.md'), encoding='utf-8') as f:
        page = f.read()
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as f:
        recipes = _section(f.read(), 'Recipes')
    found = re.findall(r'configs/[\w/.-]+\.py', page)
    # the Recipes table's downstream rows; AVA has its own build test
    # (tests/test_ava) and needs mmdet's ops
    found += [c for c in re.findall(r'configs/[\w/.-]+\.py', recipes)
              if c.startswith('configs/downstream/')
              and not c.startswith('configs/downstream/ava/')]
    return sorted(set(found))


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
    assert osp.isfile(full), f'the docs name a missing config: {path}'
    cfg = Config.fromfile(full)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
