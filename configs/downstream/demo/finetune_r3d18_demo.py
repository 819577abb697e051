# CPU demo: finetune the demo's IIVCL backbone (configs/demo/iivcl_r3d18_demo.py)
# on the generated motion-class videos (tools/generate_demo_data.py ->
# data/demo): train on train_list.txt, test top-1 on the held-out
# query_list.txt. Random init: leave model.init_cfg.checkpoint=None.
#   python tools/train.py configs/downstream/demo/finetune_r3d18_demo.py \
#       --cfg-options model.init_cfg.checkpoint=work_dirs/demo/seed0/epoch_36.pth
#   python tools/compare_finetune.py --pretrain-dir work_dirs/demo \
#       --config configs/downstream/demo/finetune_r3d18_demo.py
# On these 8-scene data the learned backbone does not help (docs/transfer.md,
# "Demo"); finetune_r3d18_demo_1scene.py is the variant where it
# does.
_base_ = ['mmaction::_base_/default_runtime.py']
default_scope = 'mmaction'
custom_imports = dict(imports=['mmiivcl'], allow_failed_imports=False)

data_root = 'data/demo'
num_classes = 10  # len(data_root/classes.txt)
width = 128  # R3D-18 output channels with base_channels=16
model = dict(
    type='Recognizer3D',
    init_cfg=dict(type='PretrainedBackbone', checkpoint=None, min_ratio=0.9),
    # exactly the demo pretraining backbone
    backbone=dict(type='ResNet3d', depth=18, pretrained=None,
                  pretrained2d=False, base_channels=16,
                  conv1_kernel=(3, 7, 7), conv1_stride_t=1,
                  pool1_stride_t=1, inflate=(1, 1, 1, 1), norm_eval=False),
    cls_head=dict(type='I3DHead', in_channels=width, num_classes=num_classes,
                  spatial_type='avg', dropout_ratio=0.2,
                  average_clips='prob'),
    data_preprocessor=dict(type='ActionDataPreprocessor',
                           mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375],
                           format_shape='NCTHW'))

# the demo pretraining's augmentations (8x32^2 crops of the 40-px videos;
# no colour jitter, blur or flip -- a flip turns move_left into move_right:
# the classes are motion directions)
train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='OrderedSampleFrames', clip_len=8, frame_interval=2,
         num_clips=1),
    dict(type='DecordDecode'),
    dict(type='ClipAugment', scale=(32, 40), crop_size=32,
         color_jitter_p=0.0, grayscale_p=0.0, blur_p=0.0, flip_p=0.0),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='OrderedSampleFrames', clip_len=8, frame_interval=2, num_clips=3,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 36)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='VideoDataset',
        ann_file=f'{data_root}/train_list.txt',
        data_prefix=dict(video=f'{data_root}/videos'),
        pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='VideoDataset',
        ann_file=f'{data_root}/query_list.txt',
        data_prefix=dict(video=f'{data_root}/videos'),
        pipeline=test_pipeline,
        test_mode=True))
test_evaluator = dict(type='AccMetric')
val_dataloader = None
val_evaluator = None

# a short schedule (75 iterations; ~12 s per run on an idle 2-core CPU):
# the comparison is about what the backbone brings, not about what 240
# videos can teach a network from scratch. A small lr keeps the learned
# features (at lr 0.05 the loss rose in the first epochs).
max_epochs = 5
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
val_cfg = None
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs,
                    max_keep_ckpts=1, save_best=None))
randomness = dict(seed=0)
