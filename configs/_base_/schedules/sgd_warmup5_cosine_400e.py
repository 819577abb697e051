# VCLR schedule (public VCLR code,
# docs/design.md#vclr-details-the-paper-leaves-out): SGD momentum 0.9, wd 1e-4,
# lr 0.1 x (total batch) / 256, linear warm-up over 5 epochs, then
# half-period cosine; 400 epochs.
max_epochs = 400
warmup_epochs = 5
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
val_cfg = None
test_cfg = None
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=0, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
auto_scale_lr = dict(enable=True, base_batch_size=256)
