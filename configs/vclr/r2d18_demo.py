# CPU demo: VCLR on the project's generated motion-pattern videos
# (tools/generate_demo_data.py -> data/demo, 96 frames of 40 px).
# ResNet-18 2D on 32 x 32 frames, K = 3 segments, 64-d embeddings, banks
# below half of the 240 training videos with same-video exclusion on
# (docs/design.md#small-data-sets-and-the-demo), a short cosine schedule and a
# faster momentum (0.99,
# constant) than the paper's 0.999, which would leave the key encoder almost
# at its initialisation over ~180 iterations.
#   python tools/train.py configs/vclr/r2d18_demo.py
_base_ = [
    '../_base_/models/vclr_r2d50.py',
    '../_base_/default_runtime.py',
]
data_root = 'data/demo'
width = 512  # ResNet-18 output channels
head = dict(type='ProjectionMLP', in_channels=width, hid_channels=512,
            out_channels=64, num_layers=2)
model = dict(
    backbone=dict(type='ResNet', depth=18, pretrained=None, norm_eval=False),
    head_video=head,
    head_inter=head,
    head_intra=head,
    head_order=head,
    order_classifier=dict(embed_dim=64),
    feat_dim=64,
    frame_queue_len=144,  # 48 videos x 3 key frames
    video_queue_len=48,   # 48 videos, below half of 240
    exclude_same_video=True,
    temperature=0.1)

train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleSegmentTuple', num_segments=3, clip_len=1,
         frame_interval=1, query_segments=(0, -1)),
    dict(type='DecordDecode'),
    dict(type='ClipAugment', crop='random_resized', crop_size=32,
         area=(0.2, 1.0), color_jitter=(0.4, 0.4, 0.4, 0.1),
         color_jitter_p=0.8, grayscale_p=0.2, blur_p=0.5,
         blur_sigma=(0.1, 0.6), flip_p=0.5, clip_len=1),
    dict(type='TemporalOrderShuffle', p=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs',
         meta_keys=('sample_idx', 'filename', 'clip_segments',
                    'order_label')),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='UnlabeledVideoDataset',
        ann_file=f'{data_root}/train_list.txt',
        data_prefix=dict(video=f'{data_root}/videos'),
        pipeline=train_pipeline),
    drop_last=True)

# zero-shot retrieval of the backbone (held-out query videos against the
# training videos; 8 uniformly spaced frames per video, features averaged):
#   python tools/retrieval.py configs/vclr/r2d18_demo.py CKPT
#   python tools/retrieval.py configs/vclr/r2d18_demo.py --seeds 0 1 2
retrieval_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 36)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]


def _split(ann_file):
    return dict(type='UnlabeledVideoDataset', ann_file=ann_file,
                data_prefix=dict(video=f'{data_root}/videos'),
                pipeline=retrieval_pipeline, test_mode=True)


test_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='TaggedConcatDataset',
                 datasets=dict(train=_split(f'{data_root}/train_list.txt'),
                               test=_split(f'{data_root}/query_list.txt'))))
test_evaluator = dict(type='VideoRetrievalMetric', topk=(1, 5, 10, 20))
test_cfg = dict(type='TestLoop')

max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
val_cfg = None
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True),
]
auto_scale_lr = dict(enable=False, base_batch_size=256)
custom_hooks = [dict(type='MomentumUpdateHook', base_momentum=0.99,
                     end_momentum=None)]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs,
                    max_keep_ckpts=1))
log_processor = dict(
    mean_pattern=r'.*(loss|time|data_time|grad_norm|acc_|_nce|_ce|nn_sim).*')
# every pretraining config trains into a directory of its own
work_dir = './work_dirs/r2d18_demo'
