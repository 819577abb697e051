"""tools/visualize_tsne.py writes a PNG; t-SNE helpers handle tiny sets."""
import cv2
import numpy as np
import torch
from mmaction.registry import MODELS
from mmengine.config import Config

from mmiivcl.analysis.tsne import plot_embedding, tsne_embedding

def test_tsne_helpers_small_set(tmp_path):
    rng = np.random.RandomState(0)
    x = np.concatenate([rng.randn(4, 8) + 5, rng.randn(4, 8) - 5])
    pts = tsne_embedding(x, perplexity=30, seed=0)  # perplexity capped
    assert pts.shape == (8, 2) and np.all(np.isfinite(pts))
    out = plot_embedding(pts, [0] * 4 + [-1] * 4, str(tmp_path / 'a.png'),
                         ['a'])
    assert cv2.imread(out) is not None


def test_visualize_tsne_cli_writes_png(solid_videos, tmp_path, tool_module,
                                       tiny_extractor_cfg, make_pipeline):
    cfg_file = str(tmp_path / 'cfg.py')
    Config(dict(model=tiny_extractor_cfg,
                test_pipeline=make_pipeline())).dump(cfg_file)
    torch.manual_seed(2)
    model = MODELS.build(tiny_extractor_cfg)
    ckpt = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    out = str(tmp_path / 'figs' / 'tsne.png')
    npz = str(tmp_path / 'feats.npz')
    tool_module('visualize_tsne').main([
        cfg_file, ckpt, '--list', solid_videos['all_list'], '--data-prefix',
        solid_videos['videos'], '--classes', solid_videos['classes'], '--out',
        out, '--num-workers', '0', '--save-features', npz])
    img = cv2.imread(out)
    assert img is not None and img.shape[0] > 100 and img.shape[1] > 100
    saved = np.load(npz)
    assert saved['feats'].shape == (10, 64)
    assert saved['labels'].tolist() == solid_videos['labels']
