"""The shipped retrieval configs build a head-less feature model whose
features have the backbone's width, 3D (clips averaged) and 2D (frames
averaged); their test loaders name the split-1 lists."""
import os.path as osp

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config

from mmiivcl.analysis.features import resolve_pipeline
from mmiivcl.retrieval import lists_from_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize('name,dataset,is_2d', [
    ('ucf101_r3d50', 'ucf101', False), ('hmdb51_r3d50', 'hmdb51', False),
    ('ucf101_r2d50_vclr', 'ucf101', True),
    ('hmdb51_r2d50_vclr', 'hmdb51', True)])
def test_retrieval_config(name, dataset, is_2d):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'retrieval',
                                   f'{name}.py'))
    gallery, query, prefix = lists_from_config(cfg)
    assert gallery == f'data/{dataset}/{dataset}_train_split_1_videos.txt'
    assert query == f'data/{dataset}/{dataset}_val_split_1_videos.txt'
    assert prefix == f'data/{dataset}/videos'
    assert cfg.test_evaluator.type == 'VideoRetrievalMetric'
    pipe = resolve_pipeline(cfg)
    sample = next(t for t in pipe
                  if t['type'] in ('SampleFrames', 'OrderedSampleFrames'))
    assert sample['test_mode'] and sample['num_clips'] == (30 if is_2d
                                                           else 10)
    assert pipe == cfg.test_dataloader.dataset.datasets.test.pipeline
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    assert type(model).__name__ == 'VideoFeatureExtractor'
    assert not any(k.startswith(('head', 'queue', 'momentum'))
                   for k in model.state_dict())
    # 2 videos x 3 clips/frames, tiny spatial size
    x = (torch.randn(2, 3, 3, 32, 32) if is_2d else
         torch.randn(2, 3, 3, 4, 32, 32))
    with torch.no_grad():
        f = model(x, mode='tensor')
        per_clip = torch.stack([model(x[:, i], mode='tensor') if not is_2d
                                else model.encode(x[:, i])
                                for i in range(3)], 1)
    assert f.shape == (2, 2048)
    assert torch.allclose(f, per_clip.mean(1), atol=1e-5)


def test_2d_extractor_accepts_clips():
    model = MODELS.build(dict(
        type='VideoFeatureExtractor',
        backbone=dict(type='ResNet', depth=18, pretrained=None))).eval()
    clip = torch.randn(2, 3, 4, 32, 32)  # (n, C, T, H, W): frames averaged
    with torch.no_grad():
        f = model.encode(clip)
        ref = torch.stack([model.encode(clip[:, :, t]) for t in range(4)],
                          1).mean(1)
    assert f.shape == (2, 512) and torch.allclose(f, ref, atol=1e-5)
    with pytest.raises(RuntimeError, match='only extracts features'):
        model(clip, [], mode='loss')
