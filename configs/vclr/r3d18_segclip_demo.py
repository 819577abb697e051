# CPU demo of the segment-clip variant: VCLR with a narrow R3D-18 (base 16
# channels, 128-d output, as configs/demo/iivcl_r3d18_demo.py) on 4-frame
# clips (stride 2) from each of the 3 segments of the generated motion
# videos. The demo's classes differ only in motion, which a 2D backbone's
# frame-averaged features cannot see; 3D clips can.
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
    head_order=head)
train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleSegmentTuple', num_segments=3, clip_len=4,
         frame_interval=2, query_segments=(0, -1)),
    dict(type='DecordDecode'),
    dict(type='ClipAugment', crop='random_resized', crop_size=64,
         area=(0.2, 1.0), color_jitter=(0.4, 0.4, 0.4, 0.1),
         color_jitter_p=0.8, grayscale_p=0.2, blur_p=0.5,
         blur_sigma=(0.1, 2.0), flip_p=0.5, clip_len=None),
    dict(type='TemporalOrderShuffle', p=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs',
         meta_keys=('sample_idx', 'filename', 'clip_segments',
                    'order_label')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# evaluation: 3 uniformly spaced 4-frame clips per video, features averaged
retrieval_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=4, frame_interval=2, num_clips=3,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 64)),
    dict(type='CenterCrop', crop_size=64),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]
test_dataloader = dict(dataset=dict(datasets=dict(
    train=dict(pipeline=retrieval_pipeline),
    test=dict(pipeline=retrieval_pipeline))))
