"""The shipped pretraining recipe is the IIVCL paper's (Sec. 3.3.2) under the
documented launches, and every pretraining config has its own work dir."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmiivcl.engine.recipe import describe_launch

CFG = 'configs/iivcl/r3d50_k400.py'
# the launches the config's header documents
LAUNCHES = [(8, {'optim_wrapper.accumulative_counts': 8}), (64, {})]


@pytest.mark.parametrize('gpus,opts', LAUNCHES)
def test_documented_launch_trains_the_paper_recipe(repo_root, gpus, opts):
    cfg = Config.fromfile(osp.join(repo_root, CFG))
    cfg.merge_from_dict(opts)
    r = describe_launch(cfg, gpus, num_videos=240_000)
    assert r['effective_batch'] == 512
    assert r['lr'] == pytest.approx(0.4)  # mmengine's scaling, accumulation counted
    assert r['epochs'] == 200 and r['warmup_epochs'] == 35
    # schedulers step per iteration: 35 epochs of warm-up whatever the
    # accumulation; in optimizer steps that is 35 x videos / 512
    assert r['warmup_steps'] == pytest.approx(35 * r['steps_per_epoch'])
    assert r['steps_per_epoch'] == pytest.approx(
        r['iters_per_epoch'] / r['accumulative_counts'])
    assert abs(r['steps_per_epoch'] - 240_000 / 512) < 1
    # one EMA update per optimizer step, m from 0.994 towards 1 over T steps
    assert r['ema_updates_per_step'] == 1
    assert r['momentum_first'] == pytest.approx(0.994)
    assert 0.99999 < r['momentum_last'] < 1.0
    assert r['total_steps'] == pytest.approx(200 * r['steps_per_epoch'], rel=1e-3)


def test_without_accumulation_fix_lr_would_be_eight_times_smaller(repo_root):
    # what mmengine alone does with the 8 x 8 x acc 8 launch: 0.4 x 64 / 512
    from types import SimpleNamespace

    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner
    from torch import nn
    cfg = Config.fromfile(osp.join(repo_root, CFG))
    cfg.merge_from_dict(LAUNCHES[0][1])
    wrapper = build_optim_wrapper(nn.Linear(1, 1), cfg.optim_wrapper)
    stub = SimpleNamespace(_train_dataloader=cfg.train_dataloader,
                           world_size=8, param_schedulers=None,
                           logger=MMLogger.get_current_instance())
    Runner.scale_lr(stub, wrapper, cfg.auto_scale_lr)
    assert wrapper.optimizer.param_groups[0]['lr'] == pytest.approx(0.05)


def _pretraining_configs(repo_root):
    out = []
    for f in sorted(glob.glob(osp.join(repo_root, 'configs', '**', '*.py'),
                              recursive=True)):
        if '_base_' in f or 'downstream' in f or 'retrieval' in f:
            continue
        cfg = Config.fromfile(f)
        if cfg.get('model', {}).get('type') in ('IIVCL', 'VCLR'):
            out.append((f, cfg))
    return out


def test_every_pretraining_config_has_its_own_work_dir(repo_root):
    configs = _pretraining_configs(repo_root)
    assert len(configs) >= 10
    seen = {}
    for f, cfg in configs:
        text = open(f).read()
        # explicit in the file itself: a child would inherit its parent's
        assert "work_dir = " in text, f'{f} sets no work_dir of its own'
        wd = osp.normpath(cfg.work_dir)
        assert wd not in seen, f'{f} and {seen[wd]} both train into {wd}'
        seen[wd] = f
    names = {osp.relpath(f, repo_root): osp.normpath(c.work_dir)
             for f, c in configs}
    assert names['configs/iivcl/r3d50_k400.py'] != \
        names['configs/pmoco/r3d50_k400.py']
