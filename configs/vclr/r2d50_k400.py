# VCLR, ResNet-50 2D, Kinetics-400 unlabeled, 400 epochs (VCLR paper; the
# numbers the paper left out come from the public VCLR code,
# docs/design.md#vclr-details-the-paper-leaves-out).
#   tools/dist_train.sh configs/vclr/r2d50_k400.py 8
# 8 GPUs x 64 videos = the paper's total batch of 512; every video gives
# 7 frames (3 online, 6 through the momentum encoder). auto_scale_lr sets
# lr = 0.1 x total / 256 (0.2 at 512). With less GPU memory, halve the
# per-GPU batch and accumulate:
#   --cfg-options train_dataloader.batch_size=32 \
#                 optim_wrapper.accumulative_counts=2
# (tools/train.py makes auto_scale_lr count the accumulation: lr stays 0.2,
#  and the momentum encoder updates once per optimizer step.)
# The paper starts from MoCo-v2 ImageNet weights (user-supplied, never
# downloaded), see docs/vclr.md:
#   --cfg-options model.backbone.pretrained=PATH_TO_CONVERTED_MOCOV2.pth
# CPU smoke run: --cfg-options train_dataloader.batch_size=2
_base_ = [
    '../_base_/models/vclr_r2d50.py',
    '../_base_/datasets/k400_vclr_tuples.py',
    '../_base_/schedules/sgd_warmup5_cosine_400e.py',
    '../_base_/default_runtime.py',
]
# VCLR's momentum encoder: m = 0.999, constant (paper convention)
custom_hooks = [dict(type='MomentumUpdateHook', base_momentum=0.999,
                     end_momentum=None)]
# window-average the raw order cross-entropy (order_ce) like the other terms
log_processor = dict(
    mean_pattern=r'.*(loss|time|data_time|grad_norm|acc_|_nce|_ce|nn_sim).*')
# every pretraining config trains into a directory of its own
work_dir = './work_dirs/vclr_r2d50_k400'
