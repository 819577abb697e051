# The CPU demo (iivcl_r3d18_demo.py) with every monitor of docs/inspect.md
# switched on:
# - NNQueueStatsHook: queue fill, NN similarity mean/std, same-video fraction
#   and NN label agreement in every training log line (train/nnq_*);
# - NNVisualizationHook: fixed query videos and their top-5 queue NNs,
#   work_dir/nn_grid/epoch_{0,3,6,...}.png (+ the visualizer backends);
# - kNN monitor: a weighted kNN classifier (k=20, T=0.07) of the held-out
#   query videos against the training videos, every 3 epochs, as a normal
#   mmengine validation metric (val/knn_top1, val/knn_top5);
# - zero-shot retrieval as the test step: query_list.txt queries
#   train_list.txt (VideoRetrievalMetric, R@1/5/10/20), e.g.
#     python tools/retrieval.py configs/demo/iivcl_r3d18_demo_monitor.py CKPT
#   (or tools/test.py with this config).
#   python tools/train.py configs/demo/iivcl_r3d18_demo_monitor.py
_base_ = './iivcl_r3d18_demo.py'
data_root = 'data/demo'
train_list = f'{data_root}/train_list.txt'
query_list = f'{data_root}/query_list.txt'
video_root = f'{data_root}/videos'

# evaluation clips: the demo's test pipeline (4 uniformly spaced 8x32^2
# clips per video, features averaged; model.predict sets data_sample.feat),
# for the kNN monitor, the NN-grid queries and the retrieval test alike
val_pipeline = {{_base_.test_pipeline}}


def _split(ann_file):
    return dict(type='UnlabeledVideoDataset', ann_file=ann_file,
                data_prefix=dict(video=video_root), pipeline=val_pipeline,
                test_mode=True)


# one dataloader holding both splits, each sample tagged with its subset
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='TaggedConcatDataset',
                 datasets=dict(train=_split(train_list),
                               val=_split(query_list))))
val_evaluator = dict(type='KNNMetric', k=20, temperature=0.07, topk=(1, 5))
val_cfg = dict(_delete_=True, type='ValLoop')
train_cfg = dict(val_begin=1, val_interval=3)

test_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='TaggedConcatDataset',
                 datasets=dict(train=_split(train_list),
                               test=_split(query_list))))
test_evaluator = dict(type='VideoRetrievalMetric', topk=(1, 5, 10, 20))
test_cfg = dict(_delete_=True, type='TestLoop')

# custom_hooks replaces the base list: the momentum hook is restated as in
# iivcl_r3d18_demo.py
custom_hooks = [
    dict(type='MomentumUpdateHook', base_momentum=0.99, end_momentum=None),
    dict(type='NNQueueStatsHook', interval=5),
    dict(type='NNVisualizationHook', interval=3, num_queries=6, topk=5,
         pipeline=val_pipeline, class_names=f'{data_root}/classes.txt'),
]
# every pretraining config trains into a directory of its own
work_dir = './work_dirs/iivcl_r3d18_demo_monitor'
