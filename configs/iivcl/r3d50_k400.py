# IIVCL, R3D-50 slow 8x8, Kinetics-400 unlabeled, 200 epochs (IIVCL paper,
# Table 1 and Sec. 3.3.2).
#   tools/dist_train.sh configs/iivcl/r3d50_k400.py 8
# 8 GPUs x 8 videos x rho=2 clips; auto_scale_lr gives lr = 0.4 x 64 / 512.
# The paper's effective batch of 512 videos: 64 GPUs, or on 8 GPUs
#   --cfg-options optim_wrapper.accumulative_counts=8
# (gradient accumulation; tools/train.py makes auto_scale_lr count it, so
# the lr is 0.4, and the key encoder's EMA steps with the optimizer; the
# queue still receives every micro-batch's keys). Check any launch with
#   python tools/describe_recipe.py configs/iivcl/r3d50_k400.py
# CPU smoke run: --cfg-options train_dataloader.batch_size=2
_base_ = [
    '../_base_/models/iivcl_r3d50.py',
    '../_base_/datasets/k400_unlabeled.py',
    '../_base_/schedules/sgd_warmup_cosine_200e.py',
    '../_base_/default_runtime.py',
]
# every pretraining config trains into a directory of its own
work_dir = './work_dirs/iivcl_r3d50_k400'
