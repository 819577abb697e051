# Linear-probe schedule of the IIVCL paper, App. B.1.2 (K400): only the
# classifier is optimised (LinearProbeOptimWrapperConstructor refuses a
# backbone with trainable parameters), SGD momentum 0.9, base lr 0.5 at total
# batch 512 (8 GPUs x 64), half-period cosine over 60 epochs, no warm-up,
# wd 0. auto_scale_lr rescales lr for other total batches.
max_epochs = 60
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_begin=1, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    constructor='LinearProbeOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=0.0))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=True, base_batch_size=512)
