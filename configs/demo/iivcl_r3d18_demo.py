# CPU demo: IIVCL on the project's generated motion-pattern videos
# (tools/generate_demo_data.py -> data/demo). A narrow R3D-18 (base 16
# channels, 128-d output) at 8x64^2, rho = 2, a queue below half the training
# set with same-video exclusion on (DESIGN §10), a short cosine schedule.
#   python tools/train.py configs/demo/iivcl_r3d18_demo.py
_base_ = [
    '../_base_/models/iivcl_r3d50.py',
    '../_base_/default_runtime.py',
]
data_root = 'data/demo'
width = 128  # R3D-18 output channels with base_channels=16
# ProjectionMLP with BN in the hidden layers (the paper's heads have none):
# with no BN the 120-step CPU run starts with all embeddings within a narrow
# cone and leaves it by drifting the whole embedding from step to step, a
# signature that tells the current keys from the queue without telling
# videos apart (acc_intra -> 1 while acc_batch stays at chance).
head = dict(in_channels=width, hid_channels=256, out_channels=64,
            norm_cfg=dict(type='BN1d'))
model = dict(
    backbone=dict(_delete_=True, type='ResNet3d', depth=18, pretrained=None,
                  pretrained2d=False, base_channels=16,
                  conv1_kernel=(3, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
                  inflate=(1, 1, 1, 1), norm_eval=False),
    head_intra=head,
    head_nn=head,
    feat_dim=64,
    queue_len=96,  # 48 videos x 2 clips, below half of ~240 training videos
    exclude_same_video=True,
    # one process: emulate shuffle-BN with 4 BN groups of 4 videos (DESIGN
    # §7); plain BN over the whole batch lets the keys of this step be
    # recognised by their batch statistics
    bn_groups=4,
    temperature=0.1)

train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleClipPair', clip_len=8, frame_interval=2, num_clips=2),
    dict(type='DecordDecodeClips', short_side=80),  # one sorted pass
    # the paper's recipe scaled to 64 px: blur sigma (0.1, 2.0) at 224 px ->
    # (0.1, 0.6); no flip, since flipping one clip of a pair reverses its
    # motion and the demo's classes include left/right and cw/ccw
    dict(type='ClipAugment', scale=(64, 80), crop_size=64,
         color_jitter=(0.4, 0.4, 0.4, 0.1), color_jitter_p=0.8,
         grayscale_p=0.2, blur_p=0.5, blur_sigma=(0.1, 0.6), flip_p=0.0),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    # seeds from (seed, epoch, rank, worker id): exact resume (EpochSeedHook)
    worker_init_fn=dict(type='epoch_worker_init_fn'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='UnlabeledVideoDataset',
        ann_file=f'{data_root}/train_list.txt',
        data_prefix=dict(video=f'{data_root}/videos'),
        pipeline=train_pipeline),
    drop_last=True)

max_epochs = 8
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
val_cfg = None
test_cfg = None
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True),
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
# 120 iterations in all: the paper's 0.994 -> 1 anneal would freeze the key
# encoder within a few dozen steps while the query encoder still moves fast,
# so the demo keeps a constant m = 0.99 (0.9 follows so fast that the
# step-to-step drift of the keys becomes a shortcut, see above).
custom_hooks = [dict(type='MomentumUpdateHook', base_momentum=0.99,
                     end_momentum=None)]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs,
                    max_keep_ckpts=1))

# Evaluation of the learned backbone (tools/run_demo.py, tools/retrieval.py):
# 4 uniformly spaced 8-frame clips per video, centre crop, features averaged.
test_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=4,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 64)),
    dict(type='CenterCrop', crop_size=64),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]
