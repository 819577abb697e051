# IIVCL paper, Sec. 3.3.2: SGD momentum 0.9, wd 1e-4, lr 0.4 at total batch
# 512,
# linear warm-up over 35 epochs, then half-period cosine; 200 epochs.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200, val_begin=1,
                 val_interval=10)
val_cfg = None
test_cfg = None
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.4, momentum=0.9, weight_decay=1e-4))
warmup_epochs = 35
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=200 - warmup_epochs, eta_min=0,
         by_epoch=True, begin=warmup_epochs, end=200,
         convert_to_iter_based=True),
]
# lr = 0.4 x (total batch) / 512; enabled so 8 GPUs x 8 videos scale it
auto_scale_lr = dict(enable=True, base_batch_size=512)
