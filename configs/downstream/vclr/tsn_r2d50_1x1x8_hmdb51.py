# VCLR R2D-50 -> TSN on HMDB51 split 1, finetune all layers (VCLR paper, Table
# 2
# and App. A). Target top-1: 54.1 (Sup-ImageNet 49.0, Sup-K400 56.1).
#   tools/dist_train.sh configs/downstream/vclr/tsn_r2d50_1x1x8_hmdb51.py 8 \
#       --cfg-options model.init_cfg.checkpoint=VCLR_PRETRAIN_OR_EXPORTED.pth
# VCLR paper, App. A: 8 segments, one frame each, random resized (multi-scale)
# crop + flip, average consensus; test: 8 frames, centre crop. Schedule:
# mmaction2's TSN recipe (the seed's numbers were lost in conversion).
_base_ = ('mmaction::recognition/tsn/'
          'tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb.py')
default_scope = 'mmaction'
custom_imports = dict(imports=['mmiivcl'], allow_failed_imports=False)

num_classes = 51
model = dict(
    init_cfg=dict(type='PretrainedBackbone', checkpoint=None, min_ratio=0.9),
    backbone=dict(type='ResNet', depth=50, pretrained=None, norm_eval=False),
    cls_head=dict(num_classes=num_classes))

dataset_type = 'VideoDataset'
data_root = 'data/hmdb51/videos'
split = 1
ann_file_train = f'data/hmdb51/hmdb51_train_split_{split}_videos.txt'
ann_file_val = f'data/hmdb51/hmdb51_val_split_{split}_videos.txt'
test_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(
    dataset=dict(ann_file=ann_file_train, data_prefix=dict(video=data_root)))
val_dataloader = dict(
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root)))
test_dataloader = dict(
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root),
                 pipeline=test_pipeline))
