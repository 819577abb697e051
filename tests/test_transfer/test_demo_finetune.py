"""The demo finetune config and tools/compare_finetune.py, on real clips:
both inits run the same short schedule and report a top-1 each."""
import os.path as osp

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
