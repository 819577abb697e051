"""NNVisualizationHook: a planted queue whose neighbours are known is drawn
with the right videos in the right tiles (tile pixels against the videos'
own frames), plus the query choice and the query embedding path."""
import os.path as osp
from types import SimpleNamespace

import cv2
import decord
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import DATASETS, HOOKS, MODELS

from mmiivcl.analysis.nn_grid import queue_topk_videos
from mmiivcl.engine.hooks.nn_visualization_hook import select_query_videos
from mmiivcl.models.utils import FeatureQueue


def _dataset(videos, pipeline=()):
    return DATASETS.build(dict(
        type='UnlabeledVideoDataset', ann_file=videos['all_list'],
        data_prefix=dict(video=videos['videos']), pipeline=list(pipeline)))


def _unit(v):
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v)


def _planted(dim=8):
    """Two orthonormal query embeddings and a queue whose top-3 distinct
    videos per query are known: query video 0 -> [4, 2, 5],
    query video 3 -> [1, 5, 2]."""
    e = np.eye(dim)
    q0, q1 = e[0], e[1]

    def key(a, b):  # similarity a to query 0, b to query 1
        rest = max(1.0 - a * a - b * b, 0.0) ** 0.5
        return _unit(a * e[0] + b * e[1] + rest * e[2])

    rows = [
        (0, key(0.99, 0.0)),    # query 0's own video: skipped for query 0
        (-1, key(0.999, 0.999 / 2)),  # never written: skipped
        (4, key(0.90, 0.10)),
        (4, key(0.85, 0.10)),   # second key of video 4: one tile only
        (2, key(0.70, 0.50)),
        (5, key(0.50, 0.70)),
        (1, key(0.20, 0.95)),
        (3, key(0.10, 0.99)),   # query 1's own video: skipped for query 1
        (6, key(0.05, 0.05)),
        (8, key(0.0, 0.0)),
    ]
    ind = np.array([r[0] for r in rows])
    feats = np.stack([r[1] for r in rows])
    expected = np.array([[4, 2, 5], [1, 5, 2]])
    return np.stack([q0, q1]), feats, ind, expected


def test_queue_topk_videos_distinct_and_ordered():
    emb, feats, ind, expected = _planted()
    vids, sims = queue_topk_videos(emb, feats, ind, 3, [0, 3])
    assert vids.tolist() == expected.tolist()
    assert np.all(np.diff(sims, axis=1) <= 0)
    # more neighbours than videos: padded with -1 / NaN
    vids, sims = queue_topk_videos(emb, feats, ind, 12, [0, 3])
    assert (vids[0] >= 0).sum() == 7 and vids[0, -1] == -1
    assert np.isnan(sims[0, -1])


def test_select_query_videos_deterministic_round_robin():
    labels = np.array([0, 0, 1, 1, 2, 2, 0, 1, 2, 0])
    a = select_query_videos(10, labels, 5, seed=3)
    assert a == select_query_videos(10, labels, 5, seed=3)
    assert [labels[i] for i in a] == [0, 1, 2, 0, 1]
    assert len(set(a)) == 5
    b = select_query_videos(10, None, 4, seed=1)
    assert b == sorted(b) and len(set(b)) == 4


def _middle_frame(path):
    vr = decord.VideoReader(path)
    return vr[len(vr) // 2].asnumpy()


def test_grid_tiles_show_the_planted_neighbours(solid_videos, tmp_path):
    emb, feats, ind, expected = _planted()
    queue = FeatureQueue(len(ind), feats.shape[1])
    queue.feats.copy_(torch.from_numpy(feats).float())
    queue.indices.copy_(torch.from_numpy(ind))
    images = []
    runner = SimpleNamespace(
        model=SimpleNamespace(queue_nn=queue), work_dir=str(tmp_path),
        iter=41, visualizer=SimpleNamespace(
            add_image=lambda name, img, step: images.append((name, step))))
    hook = HOOKS.build(dict(type='NNVisualizationHook', num_queries=2,
                            topk=3, query_indices=[0, 3],
                            class_names=solid_videos['classes'],
                            tile_size=(40, 48)))
    hook.setup(_dataset(solid_videos), pipeline=[])
    hook.query_embeddings = lambda model: emb  # the planted embeddings
    path = hook.draw(runner, 5, iters_done=42)

    assert path == osp.join(str(tmp_path), 'nn_grid', 'epoch_5.png')
    assert images == [('nn_grid', 5)]
    res = hook.last
    assert res['nn_videos'].tolist() == expected.tolist()
    img = res['image']
    saved = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
    assert np.array_equal(saved, img)

    # every tile against the videos' own middle frames (decoded here)
    means = np.array([_middle_frame(p).reshape(-1, 3).mean(0)
                      for p in solid_videos['paths']])
    layout = res['layout']
    for r, q in enumerate([0, 3]):
        for c, v in enumerate([q] + expected[r].tolist()):
            y0, x0, y1, x1 = layout.tile_box(r, c)
            assert (y1 - y0, x1 - x0) == (40, 48)
            tile = img[y0:y1, x0:x1].reshape(-1, 3).astype(float).mean(0)
            dist = np.abs(means - tile).max(axis=1)
            assert dist[v] < 12, (r, c, v, tile, means[v])
            assert int(np.argmin(dist)) == v
    # labels of the fixture: query 0 (class 0) -> 4 (2), 2 (1), 5 (2): all
    # wrong; query 3 (class 1) -> 1 (0), 5 (2), 2 (1): one right
    assert res['topk_label_agree'] == pytest.approx(1 / 6)
    # frame colours: green border for the match, red for the others
    y0, x0, _, _ = layout.tile_box(1, 3)
    assert tuple(img[y0 - 1, x0 + 5]) == (40, 170, 60)
    y0, x0, _, _ = layout.tile_box(0, 1)
    assert tuple(img[y0 - 1, x0 + 5]) == (210, 50, 40)


def test_query_embeddings_use_the_momentum_nn_branch(
        solid_videos, tiny_iivcl_cfg, make_pipeline):
    torch.manual_seed(0)
    model = MODELS.build(tiny_iivcl_cfg)
    model.init_weights()
    model.train()
    pipeline = make_pipeline(clip_len=4, num_clips=2)
    hook = HOOKS.build(dict(type='NNVisualizationHook', num_queries=3,
                            topk=2, batch_size=2))
    hook.setup(_dataset(solid_videos), pipeline)
    emb = hook.query_embeddings(model)
    assert model.momentum_encoder.training  # mode restored
    assert emb.shape == (3, 16)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)

    # reference: decode each query through the dataset's own pipeline
    ds = _dataset(solid_videos, pipeline)
    enc = model.momentum_encoder
    enc.eval()
    with torch.no_grad():
        for i, v in enumerate(hook.query_videos):
            data = model.data_preprocessor(
                dict(inputs=[ds[v]['inputs']],
                     data_samples=[ds[v]['data_samples']]), False)
            clips = data['inputs'][0]  # (M, C, T, H, W)
            z = F.normalize(enc['head_nn'](model.pool(enc['backbone'](
                clips))), dim=1).mean(0)
            assert np.allclose(emb[i], F.normalize(z, dim=0).numpy(),
                               atol=1e-5)
