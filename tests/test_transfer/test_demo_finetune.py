"""The demo finetune config and tools/compare_finetune.py, on real clips:
both inits run the same short schedule and report a top-1 each."""
import os.path as osp

import pytest
import torch
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs/downstream/demo/finetune_r3d18_demo.py')


def test_compare_finetune_prints_both(video_lists, tool, tmp_path, capsys):
    from mmengine.config import Config
    cfg = Config.fromfile(DEMO)
    # a checkpoint of the demo pretraining backbone (same arguments)
    init_default_scope('mmaction')
    bb = MODELS.build(cfg.model.backbone)
    bb.init_weights()
    ckpt = str(tmp_path / 'demo_pretrain.pth')
    torch.save({'meta': {'epoch': 12},
                'state_dict': {'backbone.' + k: v
                               for k, v in bb.state_dict().items()}}, ckpt)
    opts = []
    for name, ann in (('train_dataloader', video_lists['train']),
                      ('test_dataloader', video_lists['test'])):
        opts += [f'{name}.dataset.ann_file={ann}',
                 f'{name}.dataset.data_prefix.video={video_lists["root"]}',
                 f'{name}.num_workers=0', f'{name}.batch_size=2']
    opts += ['log_level=WARNING']
    results = tool('compare_finetune').main(
        ['--checkpoint', ckpt, '--seeds', '0', '--epochs', '1',
         '--work-dir', str(tmp_path / 'wd'), '--cfg-options'] + opts)
    assert set(results) == {'pretrained', 'random'}
    for values in results.values():
        assert len(values) == 1 and 0.0 <= values[0] <= 100.0
    out = capsys.readouterr().out
    assert 'random init' in out and 'chance' in out and '10.0' in out


def test_each_seed_finetunes_from_its_own_pretraining(tool, tmp_path):
    """Without --checkpoint, seed s starts from the latest checkpoint of
    --pretrain-dir/seed<s> (run_demo.py's layout); --checkpoint takes one
    path for every seed or one per seed, and any other count is refused."""
    import argparse
    mod = tool('compare_finetune')
    p = argparse.ArgumentParser()
    for s in (0, 1):
        d = tmp_path / f'seed{s}'
        d.mkdir()
        (d / 'epoch_36.pth').write_bytes(b'x')
        (d / 'last_checkpoint').write_text(str(d / 'epoch_36.pth'))
    args = argparse.Namespace(checkpoint=None, seeds=[1, 0],
                              pretrain_dir=str(tmp_path))
    assert mod._resolve_checkpoints(p, args) == {
        0: str(tmp_path / 'seed0' / 'epoch_36.pth'),
        1: str(tmp_path / 'seed1' / 'epoch_36.pth')}
    one = str(tmp_path / 'seed0' / 'epoch_36.pth')
    args.checkpoint = [one]
    assert mod._resolve_checkpoints(p, args) == {0: one, 1: one}
    args.checkpoint = [one, one, one]
    with pytest.raises(SystemExit):
        mod._resolve_checkpoints(p, args)
    # a seed without a pretraining: refused, not silently random
    args.checkpoint, args.seeds = None, [0, 2]
    with pytest.raises(SystemExit):
        mod._resolve_checkpoints(p, args)


def test_single_scene_transfer_demo_configs_match(tmp_path):
    """The transfer demo's two configs fit together: the finetune reads the
    data set the pretraining config generates (demo_data -> data_root), and
    a checkpoint of the full pretraining model loads into the finetune
    model's backbone completely, tensor by tensor."""
    from mmengine.config import Config
    pre = Config.fromfile(osp.join(
        REPO, 'configs/demo/iivcl_r3d18_demo_1scene.py'))
    fin = Config.fromfile(osp.join(
        REPO, 'configs/downstream/demo/finetune_r3d18_demo_1scene.py'))
    assert pre.demo_data == dict(looks=1)
    root = pre.data_root
    assert pre.train_dataloader.dataset.ann_file == f'{root}/train_list.txt'
    assert fin.train_dataloader.dataset.ann_file == f'{root}/train_list.txt'
    assert fin.test_dataloader.dataset.ann_file == f'{root}/query_list.txt'
    for c in (pre.train_dataloader, fin.train_dataloader,
              fin.test_dataloader):
        assert c.dataset.data_prefix.video == f'{root}/videos'

    init_default_scope('mmaction')
    torch.manual_seed(0)
    ssl = MODELS.build(pre.model)
    ckpt = str(tmp_path / 'epoch_36.pth')
    torch.save({'meta': {'epoch': 36}, 'state_dict': ssl.state_dict()},
               ckpt)
    fin.model.init_cfg.checkpoint = ckpt
    torch.manual_seed(1)
    rec = MODELS.build(fin.model)
    rec.init_weights()
    want = {k[len('backbone.'):]: v for k, v in ssl.state_dict().items()
            if k.startswith('backbone.')}
    got = rec.backbone.state_dict()
    assert set(got) == set(want)
    for k, v in want.items():
        assert torch.equal(got[k], v), k
