# Runtime shared by every mmiivcl pretraining config: mmaction2's runtime plus
# the plugin import and the momentum-encoder hook.
_base_ = 'mmaction::_base_/default_runtime.py'

default_scope = 'mmaction'
custom_imports = dict(imports=['mmiivcl'], allow_failed_imports=False)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, ignore_last=False),
    # pretraining has no validation metric to pick a "best" checkpoint by
    checkpoint=dict(type='CheckpointHook', interval=1, save_best=None,
                    max_keep_ckpts=3),
    # queues are identical on every rank (gathered before enqueue), so
    # mmaction2's SyncBuffersHook is a no-op for them; it is kept.
)
# Eq.6 momentum schedule, paper convention: 0.994 -> 1 (cosine, per iteration)
custom_hooks = [dict(type='MomentumUpdateHook', base_momentum=0.994,
                     end_momentum=1.0)]
# smooth accuracies and NN similarity over the window like the losses
log_processor = dict(
    type='LogProcessor', window_size=10, by_epoch=True,
    mean_pattern=r'.*(loss|time|data_time|grad_norm|acc_|_nce|nn_sim).*')
# vis_backends = [dict(type='LocalVisBackend'),
#                 dict(type='TensorboardVisBackend')]
