# AVA v2.2 spatio-temporal action detection with a self-supervised R3D-50
# (IIVCL paper, Sec. 4.4, Table 3; protocol of rho-MoCo,
# docs/design.md#downstream-protocols):
# mmdet FastRCNN + mmaction2 AVARoIHead (RoIAlign 8x8, temporal pooling,
# max-pooled RoI features, per-class sigmoid), SlowOnly R50 8x8 backbone
# initialised from an IIVCL / rho-MoCo pretraining checkpoint, 60 evaluated
# classes, external person proposals at test time, mAP@0.5 IoU.
#
#   tools/dist_train.sh configs/downstream/ava/r3d50_8x8_ava22.py 8 \
#       --cfg-options model.init_cfg.checkpoint=PRETRAIN.pth
#
# Total batch 64 = 8 GPUs x 8 clips. Other GPU counts: add --auto-scale-lr.
# Check the data first: python tools/check_ava.py --config THIS_CONFIG
# (docs/ava.md).
_base_ = ('mmaction::detection/slowonly/'
          'slowonly_kinetics400-pretrained-r50_8xb16-4x16x1-20e_ava21-rgb.py')

default_scope = 'mmaction'
custom_imports = dict(imports=['mmiivcl'], allow_failed_imports=False)

# The 60 classes of ava_action_list_v2.2_for_activitynet_2019.pbtxt. Labels
# are remapped to 1..60 (0 = background), so num_classes = 60 + 1; the same
# list goes to the datasets and to AVAMetric (AVAConfigCheckHook checks it).
ava60_classes = [
    1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 20, 22, 24, 26, 27,
    28, 29, 30, 34, 36, 37, 38, 41, 43, 45, 46, 47, 48, 49, 51, 52, 54, 56,
    57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 72, 73, 74, 76,
    77, 78, 79, 80
]
num_classes = len(ava60_classes) + 1

# The self-supervised checkpoint: a full IIVCL / rho-MoCo pretraining
# checkpoint (its backbone.* keys are used) or tools/export_backbone.py output.
# Default: the work dir of configs/iivcl/r3d50_k400.py after 200 epochs.
pretrained = 'work_dirs/iivcl_r3d50_k400/epoch_200.pth'
url = None  # the recipe's Kinetics-400 checkpoint URL: never used here

model = dict(
    # the recipe's K400 download URL is replaced: nothing downloads
    init_cfg=dict(_delete_=True, type='PretrainedBackbone',
                  checkpoint=pretrained),
    # same arguments as configs/_base_/models/iivcl_r3d50.py's backbone, so
    # every backbone.* tensor of the checkpoint matches; the AVA recipe's
    # res5 spatial stride 1 (16x feature stride) changes no weight shape.
    backbone=dict(
        type='mmaction.ResNet3dSlowOnly',
        depth=50,
        pretrained=None,
        pretrained2d=False,
        lateral=False,
        num_stages=4,
        conv1_kernel=(1, 7, 7),
        conv1_stride_t=1,
        pool1_stride_t=1,
        inflate=(0, 0, 1, 1),
        spatial_strides=(1, 2, 2, 1),
        norm_eval=False),
    roi_head=dict(
        bbox_head=dict(
            background_class=True,
            num_classes=num_classes,
            multilabel=True,
            dropout_ratio=0.5,
            topk=(3, 5))))

dataset_type = 'AVADataset'
data_root = 'data/ava/rawframes'
anno_root = 'data/ava/annotations'

ann_file_train = f'{anno_root}/ava_train_v2.2.csv'
ann_file_val = f'{anno_root}/ava_val_v2.2.csv'
exclude_file_train = f'{anno_root}/ava_train_excluded_timestamps_v2.2.csv'
exclude_file_val = f'{anno_root}/ava_val_excluded_timestamps_v2.2.csv'
label_file = f'{anno_root}/ava_action_list_v2.2_for_activitynet_2019.pbtxt'
proposal_file_train = (f'{anno_root}/ava_dense_proposals_train.FAIR.'
                       'recall_93.9.pkl')
proposal_file_val = f'{anno_root}/ava_dense_proposals_val.FAIR.recall_93.9.pkl'

file_client_args = dict(io_backend='disk')
# 8x8 clips centred on the keyframe; K400 augmentations (IIVCL paper, App. B):
# short side jittered in [256, 320], random 224 crop, horizontal flip.
train_pipeline = [
    dict(type='SampleAVAFrames', clip_len=8, frame_interval=8),
    dict(type='RawFrameDecode', **file_client_args),
    dict(type='RandomRescale', scale_range=(256, 320)),
    dict(type='RandomCrop', size=224),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs')
]
# one centred 8x8 clip, full frame (short side 256), no crop / flip
val_pipeline = [
    dict(type='SampleAVAFrames', clip_len=8, frame_interval=8, test_mode=True),
    dict(type='RawFrameDecode', **file_client_args),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs')
]

train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        exclude_file=exclude_file_train,
        pipeline=train_pipeline,
        label_file=label_file,
        proposal_file=proposal_file_train,
        num_classes=num_classes,
        custom_classes=ava60_classes,
        data_prefix=dict(img=data_root)))
val_dataloader = dict(
    batch_size=1,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        exclude_file=exclude_file_val,
        pipeline=val_pipeline,
        label_file=label_file,
        # external person proposals (not the GT boxes); boxes scoring >= 0.9
        proposal_file=proposal_file_val,
        person_det_score_thr=0.9,
        num_classes=num_classes,
        custom_classes=ava60_classes,
        data_prefix=dict(img=data_root),
        test_mode=True))
test_dataloader = val_dataloader

# mAP@0.5 IoU over the 60 classes (mmaction2's port of the ActivityNet code)
val_evaluator = dict(
    type='AVAMetric',
    ann_file=ann_file_val,
    label_file=label_file,
    exclude_file=exclude_file_val,
    num_classes=num_classes,
    custom_classes=ava60_classes)
test_evaluator = val_evaluator

train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=20, val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# lr 0.1 at total batch 64, linear warm-up over the first 5 epochs (per
# iteration), x0.1 at epochs 5, 10 and 15 (IIVCL paper, App. B.1.4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', begin=0, end=20, by_epoch=True,
         milestones=[5, 10, 15], gamma=0.1)
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-7),
    clip_grad=dict(max_norm=40, norm_type=2))

# base = 8 GPUs x 8 clips; enable with tools/train.py --auto-scale-lr
auto_scale_lr = dict(enable=False, base_batch_size=64)

default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3,
                                     save_best='mAP/overall', rule='greater'))
custom_hooks = [dict(type='AVAConfigCheckHook')]
