# SSv2 finetune schedule of the IIVCL paper, App. B.1.3: SGD momentum
# 0.9, base lr 0.12 at total batch 64 (8 GPUs x 8), x0.1 at epochs 14 and 18,
# 22 epochs, wd 1e-6. auto_scale_lr rescales lr for other total batches.
max_epochs = 22
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_begin=1, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.12, momentum=0.9, weight_decay=1e-6))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs,
         milestones=[14, 18], gamma=0.1)
]
auto_scale_lr = dict(enable=True, base_batch_size=64)
