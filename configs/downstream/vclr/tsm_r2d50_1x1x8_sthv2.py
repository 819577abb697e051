# VCLR R2D-50 -> TSM on Something-Something v2 (VCLR paper, Table 3 and App.
# A).
# Target top-1: 52.0 (SeCo 50.7, VINCE 50.3, Sup-ImageNet 59.1).
#   tools/dist_train.sh configs/downstream/vclr/tsm_r2d50_1x1x8_sthv2.py 8 \
#       --cfg-options model.init_cfg.checkpoint=VCLR_PRETRAIN_OR_EXPORTED.pth
# mmaction2's TSM SSv2 recipe (8 segments, 50 epochs). ResNetTSM wraps the
# first conv of every block in a TemporalShift (`conv1.conv.net.weight`);
# PretrainedBackbone maps the R2D-50 checkpoint's `conv1.conv.weight` onto it
# and names anything left unloaded
# (docs/design.md#loading-a-pretrained-backbone). pretrained2d=False: no
# torchvision download.
_base_ = ('mmaction::recognition/tsm/'
          'tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb.py')
default_scope = 'mmaction'
custom_imports = dict(imports=['mmiivcl'], allow_failed_imports=False)

model = dict(
    init_cfg=dict(type='PretrainedBackbone', checkpoint=None, min_ratio=0.9),
    backbone=dict(type='ResNetTSM', depth=50, pretrained=None,
                  pretrained2d=False, num_segments=8, shift_div=8,
                  norm_eval=False))
