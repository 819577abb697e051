# Unlabeled Kinetics-400 for IIVCL pretraining: rho clips of 8 frames at
# stride 8, independent start times, per-clip augmentation (IIVCL paper, Sec.
# 3.3.2).
dataset_type = 'UnlabeledVideoDataset'
data_root = 'data/kinetics400/videos_train'
ann_file = 'data/kinetics400/kinetics400_train_list_videos.txt'
num_clips = 2  # rho

train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleClipPair', clip_len=8, frame_interval=8,
         num_clips=num_clips),
    dict(type='DecordDecodeClips', short_side=320),  # one sorted pass
    dict(type='ClipAugment', scale=(256, 320), crop_size=224,
         color_jitter=(0.4, 0.4, 0.4, 0.1), color_jitter_p=0.8,
         grayscale_p=0.2, blur_p=0.5, blur_sigma=(0.1, 2.0), flip_p=0.2),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]
train_dataloader = dict(
    batch_size=8,  # videos per GPU; x rho clips
    num_workers=8,
    persistent_workers=True,
    # seeds from (seed, epoch, rank, worker id): exact resume (EpochSeedHook)
    worker_init_fn=dict(type='epoch_worker_init_fn'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline),
    drop_last=True)
