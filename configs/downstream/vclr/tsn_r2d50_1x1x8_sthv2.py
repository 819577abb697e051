# VCLR R2D-50 -> TSN on Something-Something v2 (VCLR paper, Table 3 and App.
# A).
# Target top-1: 33.3 (SeCo 31.9, VINCE 31.4, Sup-ImageNet 33.0).
#   tools/dist_train.sh configs/downstream/vclr/tsn_r2d50_1x1x8_sthv2.py 8 \
#       --cfg-options model.init_cfg.checkpoint=VCLR_PRETRAIN_OR_EXPORTED.pth
# mmaction2's TSN SSv2 recipe (8 segments, multi-scale crop, flip with the
# SSv2 left/right label map, 50 epochs); test as in the VCLR paper: 8 frames,
# 10 crops.
_base_ = ('mmaction::recognition/tsn/'
          'tsn_imagenet-pretrained-r50_8xb32-1x1x8-50e_sthv2-rgb.py')
default_scope = 'mmaction'
custom_imports = dict(imports=['mmiivcl'], allow_failed_imports=False)

model = dict(
    init_cfg=dict(type='PretrainedBackbone', checkpoint=None, min_ratio=0.9),
    backbone=dict(type='ResNet', depth=50, pretrained=None, norm_eval=False))

test_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='TenCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
