# IIVCL R3D-18 at 8x128^2 (IIVCL paper, Table 1).
_base_ = './r3d50_k400.py'
model = dict(
    backbone=dict(_delete_=True, type='ResNet3d', depth=18, pretrained=None,
                  pretrained2d=False, norm_eval=False),
    head_intra=dict(in_channels=512),
    head_nn=dict(in_channels=512))
train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleClipPair', clip_len=8, frame_interval=8, num_clips=2),
    dict(type='DecordDecodeClips', short_side=160),  # one sorted pass
    dict(type='ClipAugment', scale=(128, 160), crop_size=128,
         color_jitter=(0.4, 0.4, 0.4, 0.1), color_jitter_p=0.8,
         grayscale_p=0.2, blur_p=0.5, blur_sigma=(0.1, 2.0), flip_p=0.2),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# every pretraining config trains into a directory of its own
work_dir = './work_dirs/iivcl_r3d18_k400_128px'
