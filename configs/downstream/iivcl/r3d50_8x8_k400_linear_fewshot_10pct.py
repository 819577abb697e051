# IIVCL R3D-50 8x8 -> Kinetics-400 linear probe on 10 % of the training set
# (class balanced, FewShotSampler; IIVCL paper, Table 4), same schedule and
# full
# validation set. Target top-1: 54.2 (rho-MoCo 53.3, supervised from scratch 39.6).
#   tools/dist_train.sh configs/downstream/iivcl/r3d50_8x8_k400_linear_fewshot_10pct.py 8 \
#       --cfg-options model.init_cfg.checkpoint=PRETRAIN_OR_EXPORTED.pth
# The subset list is written to the work dir
# (few_shot_subset_ratio0.1_seed0.txt).
_base_ = ['./r3d50_8x8_k400_linear.py']

train_dataloader = dict(
    sampler=dict(_delete_=True, type='FewShotSampler', ratio=0.1,
                 subset_seed=0, shuffle=True))
