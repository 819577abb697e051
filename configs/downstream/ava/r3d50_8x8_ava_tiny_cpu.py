# CPU smoke run of configs/downstream/ava/r3d50_8x8_ava22.py on a tiny AVA
# root (one training iteration, one validation iteration, mAP computed).
# Same model (SlowOnly R50 8x8, FastRCNN, AVARoIHead) and pipeline types;
# only the data, crop sizes, class list, batch size and schedule shrink.
#
# Layout under data_root (built by tests/test_ava from
# ../shared/data/ava_tiny, see docs/ava.md):
#   annotations/ava_sample.csv, ava_excluded_timestamps_sample.csv,
#               ava_proposals_sample.pkl, action_list.txt
#   rawframes/<video_id>/img_00001.jpg ... img_00180.jpg
# The tiny csv's keyframes are at 902-903 s, so the frame window is
# 900-905 s: (905 - 900 + 1) * 30 = 180 frames per video.
#
#   AVA_TINY_ROOT=/path/to/tiny_root \
#       python tools/train.py configs/downstream/ava/r3d50_8x8_ava_tiny_cpu.py
_base_ = './r3d50_8x8_ava22.py'

data_root = '{{$AVA_TINY_ROOT:data/ava_tiny}}'
anno_root = f'{data_root}/annotations'
frame_root = f'{data_root}/rawframes'
ann_file = f'{anno_root}/ava_sample.csv'
exclude_file = f'{anno_root}/ava_excluded_timestamps_sample.csv'
label_file = f'{anno_root}/action_list.txt'
proposal_file = f'{anno_root}/ava_proposals_sample.pkl'
tiny_classes = [12, 17, 79, 80]
num_classes = len(tiny_classes) + 1
timestamp_start = 900
timestamp_end = 905

# random init (no checkpoint needed); to smoke-test loading too:
#   --cfg-options "model.init_cfg=dict(type='PretrainedBackbone',
#                                      checkpoint='PATH')"
model = dict(
    init_cfg=None,
    roi_head=dict(bbox_head=dict(num_classes=num_classes, topk=(1, 3))))

train_pipeline = [
    dict(type='SampleAVAFrames', clip_len=8, frame_interval=8),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(type='RandomRescale', scale_range=(64, 80)),
    dict(type='RandomCrop', size=64),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='SampleAVAFrames', clip_len=8, frame_interval=8, test_mode=True),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(type='Resize', scale=(-1, 64)),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs')
]

train_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        ann_file=ann_file,
        exclude_file=exclude_file,
        label_file=label_file,
        proposal_file=proposal_file,
        num_classes=num_classes,
        custom_classes=tiny_classes,
        data_prefix=dict(img=frame_root),
        pipeline=train_pipeline,
        timestamp_start=timestamp_start,
        timestamp_end=timestamp_end))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        ann_file=ann_file,
        exclude_file=exclude_file,
        label_file=label_file,
        proposal_file=proposal_file,
        num_classes=num_classes,
        custom_classes=tiny_classes,
        data_prefix=dict(img=frame_root),
        pipeline=val_pipeline,
        timestamp_start=timestamp_start,
        timestamp_end=timestamp_end))
test_dataloader = val_dataloader
val_evaluator = dict(
    ann_file=ann_file,
    label_file=label_file,
    exclude_file=exclude_file,
    num_classes=num_classes,
    custom_classes=tiny_classes)
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=1, val_begin=1, val_interval=1)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True,
                        begin=0, end=1)]
optim_wrapper = dict(optimizer=dict(lr=0.01))
auto_scale_lr = dict(base_batch_size=1)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, max_keep_ckpts=1,
                                     save_best=None))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
