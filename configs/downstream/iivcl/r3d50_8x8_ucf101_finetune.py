# IIVCL R3D-50 (SlowOnly 8x8) -> UCF101 split 1, finetune all layers
# (IIVCL paper, Table 1 / App. B.1.1). Target top-1: 92.6 (200-epoch
# IIVCL), 93.3 (400 epochs).
#   tools/dist_train.sh configs/downstream/iivcl/r3d50_8x8_ucf101_finetune.py 8 \
#       --cfg-options model.init_cfg.checkpoint=PRETRAIN_OR_EXPORTED.pth
#   tools/dist_test.sh  configs/downstream/iivcl/r3d50_8x8_ucf101_finetune.py \
#       work_dirs/r3d50_8x8_ucf101_finetune/epoch_200.pth 8
# Total batch 64 = 8 GPUs x 8 clips; lr 0.005 is scaled by auto_scale_lr.
# model.init_cfg.checkpoint=None trains from a (logged) random init.
_base_ = [
    'mmaction::_base_/models/slowonly_r50.py',
    'mmaction::_base_/default_runtime.py',
    '../../_base_/schedules/sgd_cosine_200e_finetune.py',
]
default_scope = 'mmaction'
custom_imports = dict(imports=['mmiivcl'], allow_failed_imports=False)

num_classes = 101
model = dict(
    # the pretrained SSL backbone (full pretraining or exported checkpoint)
    init_cfg=dict(type='PretrainedBackbone', checkpoint=None, min_ratio=0.9),
    # same arguments as configs/_base_/models/iivcl_r3d50.py; mmaction2's
    # ImageNet URL is reset so nothing downloads
    backbone=dict(
        type='ResNet3dSlowOnly', depth=50, pretrained=None,
        pretrained2d=False, lateral=False, conv1_kernel=(1, 7, 7),
        conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1),
        norm_eval=False),
    cls_head=dict(type='I3DHead', in_channels=2048, num_classes=num_classes,
                  spatial_type='avg', dropout_ratio=0.5,
                  average_clips='prob'))

dataset_type = 'VideoDataset'
data_root = 'data/ucf101/videos'
split = 1
ann_file_train = f'data/ucf101/ucf101_train_split_{split}_videos.txt'
ann_file_val = f'data/ucf101/ucf101_val_split_{split}_videos.txt'
ann_file_test = ann_file_val

# pretraining augmentations minus blur (IIVCL paper, App. B.1.1), one 8x8 clip
train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='OrderedSampleFrames', clip_len=8, frame_interval=8,
         num_clips=1),
    dict(type='DecordDecode'),
    dict(type='ClipAugment', scale=(256, 320), crop_size=224,
         color_jitter=(0.4, 0.4, 0.4, 0.1), color_jitter_p=0.8,
         grayscale_p=0.2, blur_p=0.0, flip_p=0.2),
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
# 10 temporal x 3 spatial views, predictions averaged
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
        ann_file=ann_file_test,
        data_prefix=dict(video=data_root),
        pipeline=test_pipeline,
        test_mode=True))
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3,
                    save_best='auto'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False))
