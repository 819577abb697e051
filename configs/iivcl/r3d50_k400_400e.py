# IIVCL R3D-50 8x8, 400 epochs (IIVCL paper, Tables 1 and 5).
_base_ = './r3d50_k400.py'
train_cfg = dict(max_epochs=400)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=35,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=400 - 35, eta_min=0, by_epoch=True,
         begin=35, end=400, convert_to_iter_based=True),
]
# every pretraining config trains into a directory of its own
work_dir = './work_dirs/iivcl_r3d50_k400_400e'
