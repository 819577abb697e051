# Zero-shot retrieval on UCF101 split 1 with a 2D backbone (VCLR, ResNet-50):
# every video is 30 uniformly spaced frames (short side 256, centre crop 224),
# each encoded by the 2D backbone and globally average-pooled; the video
# feature is the mean over the frames. Queries: test split; gallery: train.
#   python tools/retrieval.py configs/retrieval/ucf101_r2d50_vclr.py CKPT
_base_ = './ucf101_r3d50.py'
num_frames = 30  # frames averaged per video
model = dict(
    backbone=dict(_delete_=True, type='ResNet', depth=50, pretrained=None,
                  norm_eval=False),
    data_preprocessor=dict(format_shape='NCHW'))
test_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1,
         num_clips=num_frames, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]
test_dataloader = dict(
    dataset=dict(
        datasets=dict(
            train=dict(pipeline=test_pipeline),
            test=dict(pipeline=test_pipeline))))
