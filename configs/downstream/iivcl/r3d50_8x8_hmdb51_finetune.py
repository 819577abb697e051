# IIVCL R3D-50 (SlowOnly 8x8) -> HMDB51 split 1, finetune all layers
# (IIVCL paper, Table 1 / App. B.1.1). Target top-1: 65.8 (200-epoch
# IIVCL), 68.1 (400 epochs). 10x3 test views, as UCF101.
#   tools/dist_train.sh configs/downstream/iivcl/r3d50_8x8_hmdb51_finetune.py 8 \
#       --cfg-options model.init_cfg.checkpoint=PRETRAIN_OR_EXPORTED.pth
_base_ = ['./r3d50_8x8_ucf101_finetune.py']

num_classes = 51
model = dict(cls_head=dict(num_classes=num_classes))

data_root = 'data/hmdb51/videos'
split = 1
ann_file_train = f'data/hmdb51/hmdb51_train_split_{split}_videos.txt'
ann_file_val = f'data/hmdb51/hmdb51_val_split_{split}_videos.txt'
train_dataloader = dict(
    dataset=dict(ann_file=ann_file_train, data_prefix=dict(video=data_root)))
val_dataloader = dict(
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root)))
test_dataloader = dict(
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root)))
