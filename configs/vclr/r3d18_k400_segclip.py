# VCLR segment-clip variant: every frame of the 2D model becomes a short
# clip (8 frames at stride 4) starting in its segment, encoded by R3D-18 at
# 128 x 128 (the 3D variant of the VCLR paper's Sec. 3; cf. IIVCL's R3D-18 at
# 8x128^2). Every clip gets its own MoCo-v2 augmentation, shared by its
# frames.
#   tools/dist_train.sh configs/vclr/r3d18_k400_segclip.py 8
# 8 GPUs x 16 videos (x 7 clips); auto_scale_lr: lr = 0.1 x 128 / 256.
_base_ = './r2d50_k400.py'
model = dict(
    backbone=dict(_delete_=True, type='ResNet3d', depth=18, pretrained=None,
                  pretrained2d=False, norm_eval=False),
    head_video=dict(in_channels=512),
    head_inter=dict(in_channels=512),
    head_intra=dict(in_channels=512),
    head_order=dict(in_channels=512))
train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleSegmentTuple', num_segments=3, clip_len=8,
         frame_interval=4, query_segments=(0, -1)),
    dict(type='DecordDecode'),
    # clip_len=None: ClipAugment reads the clip length (8) from the sampler
    dict(type='ClipAugment', crop='random_resized', crop_size=128,
         area=(0.2, 1.0), color_jitter=(0.4, 0.4, 0.4, 0.1),
         color_jitter_p=0.8, grayscale_p=0.2, blur_p=0.5,
         blur_sigma=(0.1, 2.0), flip_p=0.5, clip_len=None),
    dict(type='TemporalOrderShuffle', p=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs',
         meta_keys=('sample_idx', 'filename', 'clip_segments',
                    'order_label')),
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
# every pretraining config trains into a directory of its own
work_dir = './work_dirs/vclr_r3d18_k400_segclip'
