"""tools/run_demo.py's per-seed training command: parsed with mmengine's
DictAction and merged into the config exactly as tools/train.py does, the
LR schedulers it describes build and cover the requested epochs (cosine and
constant phases, and a 1-epoch run)."""
import argparse
import os.path as osp

import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.optim.scheduler import (ConstantLR, CosineAnnealingLR,
                                      LinearLR)
from mmengine.registry import PARAM_SCHEDULERS


def _merged(cfg_path, cmd):
    """The config tools/train.py would run for ``cmd``."""
    i = cmd.index('--cfg-options')
    p = argparse.ArgumentParser()
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    opts = p.parse_args(cmd[i:]).cfg_options
    cfg = Config.fromfile(cfg_path)
    cfg.merge_from_dict(opts)
    return cfg


def _lrs(cfg, epochs, iters_per_epoch=3):
    """Per-iteration lr of the merged schedule (mmengine's own schedulers,
    converted to iterations as the Runner does)."""
    param = torch.nn.Parameter(torch.zeros(1))
    base = cfg.optim_wrapper.optimizer.lr
    opt = torch.optim.SGD([param], lr=base)
    scheds = []
    for s in cfg.param_scheduler:
        s = dict(s)
        typ = PARAM_SCHEDULERS.get(s.pop('type'))
        s.pop('convert_to_iter_based', None)
        s.pop('by_epoch', None)
        scheds.append(typ.build_iter_from_epoch(
            opt, epoch_length=iters_per_epoch, **s))
    lrs = []
    for _ in range(epochs * iters_per_epoch):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        for s in scheds:
            s.step()
    return base, lrs


@pytest.mark.parametrize('name, epochs, kinds', [
    ('demo/iivcl_r3d18_demo.py', 5, (LinearLR, ConstantLR)),
    ('demo/iivcl_r3d18_demo.py', 1, (LinearLR, ConstantLR)),
    # run_demo.py --config takes any 1-epoch-warm-up config: a cosine one
    ('vclr/r2d18_demo.py', 8, (LinearLR, CosineAnnealingLR)),
    ('vclr/r2d18_demo.py', 3, (LinearLR, CosineAnnealingLR)),
])
def test_train_command_refits_the_schedule(repo_root, tool_module, tmp_path,
                                           name, epochs, kinds):
    mod = tool_module('run_demo')
    path = osp.join(repo_root, 'configs', name)
    cfg = Config.fromfile(path)
    cmd = mod.train_command(path, str(tmp_path / 'data'),
                            str(tmp_path / 'w'), 0, epochs, cfg)
    merged = _merged(path, cmd)
    assert merged.train_cfg.max_epochs == epochs
    assert merged.default_hooks.checkpoint.interval == epochs
    assert merged.train_dataloader.dataset.ann_file == str(
        tmp_path / 'data' / 'train_list.txt')
    assert [PARAM_SCHEDULERS.get(s.type) for s in merged.param_scheduler
            ] == list(kinds)
    base, lrs = _lrs(merged, epochs)
    # warm-up over the first epoch: rises from 0.1 x base
    assert lrs[0] == pytest.approx(0.1 * base)
    if epochs > 1:
        assert lrs[3] == pytest.approx(base)  # epoch 1 starts at base
        if kinds[1] is CosineAnnealingLR:
            # half a cosine from base down to ~0 at the last epoch's end
            assert lrs[-1] < 0.2 * base
            assert all(a >= b - 1e-12 for a, b in zip(lrs[3:], lrs[4:]))
        else:
            assert lrs[3:] == pytest.approx([base] * (len(lrs) - 3))
