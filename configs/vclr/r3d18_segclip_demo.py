# CPU demo of the segment-clip variant: VCLR with a narrow R3D-18 (base 16
# channels, 128-d output, as configs/demo/iivcl_r3d18_demo.py) on 4-frame
# clips (stride 2) from each of the 3 segments of the generated motion
# videos. The demo's classes differ only in motion, which a 2D backbone's
# frame-averaged features cannot see; 3D clips can. The training recipe is
# the IIVCL demo's: 32-px crops without colour augmentation or flip, batch 8
# in 2 emulated shuffle-BN groups, lr 0.03 constant after one warm-up epoch,
# 36 epochs (docs/demo_notes.md has why).
#   python tools/train.py configs/vclr/r3d18_segclip_demo.py
#   python tools/retrieval.py configs/vclr/r3d18_segclip_demo.py CKPT
_base_ = './r2d18_demo.py'
width = 128  # R3D-18 output channels with base_channels=16
head = dict(type='ProjectionMLP', in_channels=width, hid_channels=256,
            out_channels=64, num_layers=2)
model = dict(
    backbone=dict(_delete_=True, type='ResNet3d', depth=18, pretrained=None,
                  pretrained2d=False, base_channels=16,
                  conv1_kernel=(3, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
                  inflate=(1, 1, 1, 1), norm_eval=False),
    head_video=head,
    head_inter=head,
    head_intra=head,
    head_order=head,
    bn_groups=2)  # 2 groups of 4 videos in a batch of 8
train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleSegmentTuple', num_segments=3, clip_len=4,
         frame_interval=2, query_segments=(0, -1)),
    dict(type='DecordDecode'),
    dict(type='ClipAugment', scale=(32, 40), crop_size=32,
         color_jitter_p=0.0, grayscale_p=0.0, blur_p=0.0, flip_p=0.0,
         clip_len=None),
    dict(type='TemporalOrderShuffle', p=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs',
         meta_keys=('sample_idx', 'filename', 'clip_segments',
                    'order_label')),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
# evaluation: 3 uniformly spaced 4-frame clips per video, features averaged
retrieval_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='OrderedSampleFrames', clip_len=4, frame_interval=2, num_clips=3,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 36)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]
test_dataloader = dict(dataset=dict(datasets=dict(
    train=dict(pipeline=retrieval_pipeline),
    test=dict(pipeline=retrieval_pipeline))))

max_epochs = 36  # 30 steps each
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=0.03))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=1,
         end=max_epochs),
]
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=max_epochs))
# every pretraining config trains into a directory of its own
work_dir = './work_dirs/r3d18_segclip_demo'
