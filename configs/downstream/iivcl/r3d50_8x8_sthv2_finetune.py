# IIVCL R3D-50 (SlowOnly 8x8) -> Something-Something v2, finetune all layers
# (IIVCL paper, Table 2 / App. B.1.3). Target top-1: 53.8 (200-epoch
# IIVCL; rho-MoCo 53.6, supervised K400 52.8).
#   tools/dist_train.sh configs/downstream/iivcl/r3d50_8x8_sthv2_finetune.py 8 \
#       --cfg-options model.init_cfg.checkpoint=PRETRAIN_OR_EXPORTED.pth
# Segment-based sampling (8 segments, one frame each, as rho-MoCo/SlowFast),
# K400 augmentations without flip (direction defines SSv2 classes), 22 epochs,
# lr 0.12 at total batch 64, x0.1 at 14 and 18, wd 1e-6, dropout 0.5; test:
# one centred 8-frame clip, centre crop.
_base_ = [
    'mmaction::_base_/models/slowonly_r50.py',
    'mmaction::_base_/default_runtime.py',
    '../../_base_/schedules/sgd_step_22e_sthv2.py',
]
default_scope = 'mmaction'
custom_imports = dict(imports=['mmiivcl'], allow_failed_imports=False)

num_classes = 174
model = dict(
    init_cfg=dict(type='PretrainedBackbone', checkpoint=None, min_ratio=0.9),
    backbone=dict(
        type='ResNet3dSlowOnly', depth=50, pretrained=None,
        pretrained2d=False, lateral=False, conv1_kernel=(1, 7, 7),
        conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1),
        norm_eval=False),
    cls_head=dict(type='I3DHead', in_channels=2048, num_classes=num_classes,
                  spatial_type='avg', dropout_ratio=0.5,
                  average_clips='prob'))

dataset_type = 'VideoDataset'
data_root = 'data/sthv2/videos'
ann_file_train = 'data/sthv2/sthv2_train_list_videos.txt'
ann_file_val = 'data/sthv2/sthv2_val_list_videos.txt'

train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='UniformSample', clip_len=8, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='RandomRescale', scale_range=(256, 320)),
    dict(type='RandomCrop', size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='UniformSample', clip_len=8, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = val_pipeline
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root),
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=1,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root),
        pipeline=test_pipeline,
        test_mode=True))
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=2, max_keep_ckpts=3,
                    save_best='auto'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False))
