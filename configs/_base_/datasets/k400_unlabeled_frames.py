# Unlabeled Kinetics-400 stored as JPEG frame folders (the cheapest storage
# to decode; benchmarks/RESULTS.md), written from the video list by
#   python tools/data/prepare_videos.py \
#       data/kinetics400/kinetics400_train_list_videos.txt \
#       --root data/kinetics400/videos_train \
#       --out-dir data/kinetics400/frames_train --frames
# which also writes the list of folders with the labels. Everything else is
# k400_unlabeled.py: the same clips, augmentation and loader.
_base_ = ['./k400_unlabeled.py']

data_root = 'data/kinetics400/frames_train'
ann_file = data_root + '/kinetics400_train_list_videos.txt'

train_pipeline = [
    dict(type='VideoInit', backend='frames'),
    dict(type='SampleClipPair', clip_len=8, frame_interval=8,
         num_clips={{_base_.num_clips}}),
    dict(type='DecordDecodeClips'),  # reads the frames the pair needs
    dict(type='ClipAugment', scale=(256, 320), crop_size=224,
         color_jitter=(0.4, 0.4, 0.4, 0.1), color_jitter_p=0.8,
         grayscale_p=0.2, blur_p=0.5, blur_sigma=(0.1, 2.0), flip_p=0.2),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]
train_dataloader = dict(
    dataset=dict(
        ann_file=ann_file,
        data_prefix=dict(video=data_root),
        video_backend='frames',
        pipeline=train_pipeline))
