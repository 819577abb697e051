"""The demo monitor config, shrunk to a tiny model and a 10-video set, trains
for 2 epochs: the NN statistics appear in the training log, the NN grids are
saved (work dir and visualizer backend), and the kNN monitor runs as the
validation metric on the tagged train+val dataloader."""
import glob
import json
import os.path as osp

from mmaction.registry import DATASETS
from mmengine.config import Config
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MONITOR = osp.join(REPO, 'configs', 'demo', 'iivcl_r3d18_demo_monitor.py')

TINY = '''
_base_ = {monitor!r}
data_root = {root!r}
video_root = data_root + '/videos'
width = 64
model = dict(
    backbone=dict(base_channels=8, conv1_kernel=(1, 3, 3),
                  inflate=(0, 0, 1, 1)),
    head_intra=dict(in_channels=width, hid_channels=32, out_channels=16),
    head_nn=dict(in_channels=width, hid_channels=32, out_channels=16),
    feat_dim=16, queue_len=8)
train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleClipPair', clip_len=4, frame_interval=2, num_clips=2),
    dict(type='DecordDecode'),
    dict(type='ClipAugment', scale=(32, 36), crop_size=32, blur_p=0.0),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]
val_pipeline = {val_pipeline!r}
split = dict(type='UnlabeledVideoDataset', data_prefix=dict(video=video_root),
             pipeline=val_pipeline, test_mode=True)
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file={train!r}, data_prefix=dict(video=video_root),
                 pipeline=train_pipeline))
val_dataloader = dict(batch_size=4, num_workers=0, dataset=dict(datasets=dict(
    train=dict(split, ann_file={train!r}),
    val=dict(split, ann_file={query!r}))))
test_dataloader = None
test_cfg = None
test_evaluator = None
train_cfg = dict(max_epochs=2, val_interval=1)
param_scheduler = []
val_evaluator = dict(k=3)
custom_hooks = [
    dict(type='MomentumUpdateHook', base_momentum=0.99, end_momentum=1.0),
    dict(type='NNQueueStatsHook', interval=1),
    dict(type='NNVisualizationHook', interval=1, num_queries=3, topk=2,
         pipeline=val_pipeline, class_names={classes!r}),
]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=100))
'''


def test_tagged_concat_dataset_tags_and_indices(solid_videos, make_pipeline):
    sub = dict(type='UnlabeledVideoDataset', pipeline=make_pipeline(),
               data_prefix=dict(video=solid_videos['videos']),
               test_mode=True)
    ds = DATASETS.build(dict(
        type='TaggedConcatDataset',
        datasets=dict(train=dict(sub, ann_file=solid_videos['train_list']),
                      val=dict(sub, ann_file=solid_videos['query_list']))))
    assert len(ds) == 10
    s = ds[8]['data_samples']
    assert s.metainfo['subset'] == 'val' and s.metainfo['sample_idx'] == 1
    assert ds[2]['data_samples'].metainfo['subset'] == 'train'
    assert ds.get_data_info(-1)['subset'] == 'val'


def test_monitor_config_trains_with_all_monitors(solid_videos, tmp_path,
                                                 make_pipeline):
    cfg_file = tmp_path / 'tiny_monitor.py'
    cfg_file.write_text(TINY.format(
        monitor=MONITOR, root=solid_videos['root'],
        train=solid_videos['train_list'], query=solid_videos['query_list'],
        classes=solid_videos['classes'],
        val_pipeline=make_pipeline(clip_len=4, num_clips=2, size=32)))
    cfg = Config.fromfile(str(cfg_file))
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()

    grids = sorted(osp.basename(p) for p in glob.glob(
        osp.join(cfg.work_dir, 'nn_grid', '*.png')))
    assert grids == ['epoch_0.png', 'epoch_1.png', 'epoch_2.png']
    assert glob.glob(osp.join(cfg.work_dir, '*', 'vis_data', 'vis_image',
                              'nn_grid_2.png'))
    scalars = glob.glob(osp.join(cfg.work_dir, '*', 'vis_data',
                                 'scalars.json'))[0]
    with open(scalars) as f:
        logs = [json.loads(line) for line in f]
    train = [r for r in logs if 'nnq_fill' in r]
    assert len(train) == 2  # 7 // 4 iterations x 2 epochs, interval 1
    assert all(0 <= r['nnq_label_agree'] <= 1 for r in train
               if 'nnq_label_agree' in r)
    assert any('nnq_label_agree' in r for r in train)
    assert all(r.get('nnq_same_video', 0) == 0 for r in train)  # excluded
    val = [r for r in logs if 'knn_top1' in r]
    assert len(val) == 2 and all(0 <= r['knn_top1'] <= 100 for r in val)
