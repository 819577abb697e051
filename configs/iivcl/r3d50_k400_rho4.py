# IIVCL R3D-50 8x8 with rho = 4 clips per video (IIVCL paper, Table 5).
_base_ = './r3d50_k400.py'
train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleClipPair', clip_len=8, frame_interval=8, num_clips=4),
    dict(type='DecordDecodeClips', short_side=320),  # one sorted pass
    dict(type='ClipAugment', scale=(256, 320), crop_size=224,
         color_jitter=(0.4, 0.4, 0.4, 0.1), color_jitter_p=0.8,
         grayscale_p=0.2, blur_p=0.5, blur_sigma=(0.1, 2.0), flip_p=0.2),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# every pretraining config trains into a directory of its own
work_dir = './work_dirs/iivcl_r3d50_k400_rho4'
