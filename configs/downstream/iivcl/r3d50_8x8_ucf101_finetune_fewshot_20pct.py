# IIVCL R3D-50 8x8 -> UCF101 split 1 finetune on 20 % of the training set
# (class balanced, FewShotSampler; IIVCL paper, Table 4). Same schedule and
# test
# set as the full finetune. Target top-1: 85.0 (rho-MoCo 84.7).
#   tools/dist_train.sh configs/downstream/iivcl/r3d50_8x8_ucf101_finetune_fewshot_20pct.py 8 \
#       --cfg-options model.init_cfg.checkpoint=PRETRAIN_OR_EXPORTED.pth
# The subset list is written to the work dir
# (few_shot_subset_ratio0.2_seed0.txt); train_dataloader.sampler.subset_seed
# draws another subset.
_base_ = ['./r3d50_8x8_ucf101_finetune.py']

train_dataloader = dict(
    sampler=dict(_delete_=True, type='FewShotSampler', ratio=0.2,
                 subset_seed=0, shuffle=True))
