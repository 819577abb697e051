# Finetune schedule of the IIVCL paper, App. B.1.1 (UCF101 / HMDB51, rho-MoCo
# recipe): SGD momentum 0.9, base lr 0.005 at total batch 64 (8 GPUs x 8),
# half-period cosine over 200 epochs, wd 1e-4. auto_scale_lr rescales lr
# linearly for other total batch sizes.
max_epochs = 200
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_begin=1, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=True, base_batch_size=64)
