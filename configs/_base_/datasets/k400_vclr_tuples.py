# Unlabeled Kinetics-400 for VCLR pretraining (VCLR paper, Sec. 3): K = 3
# segments, two distinct frames per segment (anchor / positive tuple) plus a
# second augmentation of the anchor frame of the first or last segment; every
# frame augmented independently with the MoCo-v2 recipe (random resized crop
# 224, area (0.2, 1), colour jitter 0.4 p=0.8, grayscale 0.2, blur 0.5, flip
# 0.5); each tuple shuffled with p = 0.5 for the order task.
dataset_type = 'UnlabeledVideoDataset'
data_root = 'data/kinetics400/videos_train'
ann_file = 'data/kinetics400/kinetics400_train_list_videos.txt'

train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleSegmentTuple', num_segments=3, clip_len=1,
         frame_interval=1, query_segments=(0, -1)),
    dict(type='DecordDecode'),
    dict(type='ClipAugment', crop='random_resized', crop_size=224,
         area=(0.2, 1.0), color_jitter=(0.4, 0.4, 0.4, 0.1),
         color_jitter_p=0.8, grayscale_p=0.2, blur_p=0.5,
         blur_sigma=(0.1, 2.0), flip_p=0.5, clip_len=1),
    dict(type='TemporalOrderShuffle', p=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs',
         meta_keys=('sample_idx', 'filename', 'clip_segments',
                    'order_label')),
]
train_dataloader = dict(
    batch_size=64,  # videos per GPU (x 7 frames); 8 GPUs -> 512
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
