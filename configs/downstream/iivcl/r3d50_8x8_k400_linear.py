# IIVCL R3D-50 (SlowOnly 8x8) -> Kinetics-400 linear probe (IIVCL paper, Table
# 1 /
# App. B.1.2;
# docs/design.md#linear-probe). Target top-1: 65.7 (200-epoch IIVCL),
# 67.1 (400 epochs).
#   tools/dist_train.sh configs/downstream/iivcl/r3d50_8x8_k400_linear.py 8 \
#       --cfg-options model.init_cfg.checkpoint=PRETRAIN_OR_EXPORTED.pth
# Frozen backbone *and* frozen BN statistics (frozen_stages=4 = every stage,
# norm_eval=True); only the linear classifier is in the optimizer
# (LinearProbeOptimWrapperConstructor) and FrozenBackboneCheckHook fails the
# run before the first iteration if any backbone parameter requires grad or a
# backbone BN layer is in train mode. Features are not L2-normalised;
# dropout 0; scale jitter [256, 320] + crop 224 + flip; 60 epochs, total
# batch 512 (8 GPUs x 64), lr 0.5, cosine, no warm-up, wd 0; 10x3 test views.
_base_ = [
    'mmaction::_base_/models/slowonly_r50.py',
    'mmaction::_base_/default_runtime.py',
    '../../_base_/schedules/sgd_cosine_60e_linear.py',
]
default_scope = 'mmaction'
custom_imports = dict(imports=['mmiivcl'], allow_failed_imports=False)

num_classes = 400
model = dict(
    init_cfg=dict(type='PretrainedBackbone', checkpoint=None, min_ratio=0.9),
    backbone=dict(
        type='ResNet3dSlowOnly', depth=50, pretrained=None,
        pretrained2d=False, lateral=False, conv1_kernel=(1, 7, 7),
        conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1),
        frozen_stages=4, norm_eval=True),
    cls_head=dict(type='I3DHead', in_channels=2048, num_classes=num_classes,
                  spatial_type='avg', dropout_ratio=0.0,
                  average_clips='prob'))
custom_hooks = [dict(type='FrozenBackboneCheckHook', check_bn=True)]

dataset_type = 'VideoDataset'
data_root = 'data/kinetics400/videos_train'
data_root_val = 'data/kinetics400/videos_val'
ann_file_train = 'data/kinetics400/kinetics400_train_list_videos.txt'
ann_file_val = 'data/kinetics400/kinetics400_val_list_videos.txt'

train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='OrderedSampleFrames', clip_len=8, frame_interval=8,
         num_clips=1),
    dict(type='DecordDecode'),
    dict(type='RandomRescale', scale_range=(256, 320)),
    dict(type='RandomCrop', size=224),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='OrderedSampleFrames', clip_len=8, frame_interval=8, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='OrderedSampleFrames', clip_len=8, frame_interval=8,
         num_clips=10,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root_val),
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
        data_prefix=dict(video=data_root_val),
        pipeline=test_pipeline,
        test_mode=True))
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=3,
                    save_best='auto'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False))
