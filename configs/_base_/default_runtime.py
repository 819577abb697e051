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
    # mmaction2's SyncBuffersHook averages every buffer at epoch end; this
    # one skips what the model names rank-local (per-rank queues with
    # model.gather_keys=False). Gathered queues are identical on every rank.
    sync_buffers=dict(type='SyncBuffersExceptLocalHook'),
    # Reliability (docs/troubleshooting.md). In default_hooks, not
    # custom_hooks, so that a derived config's custom_hooks list keeps them.
    # worker seeds from (seed, epoch, rank, worker), main RNG per iteration:
    # exact resume with --seed S --deterministic
    epoch_seed=dict(type='EpochSeedHook'),
    # running count of unreadable videos over workers and ranks; stop above
    # 5 % with the list
    skip_stats=dict(type='SkipStatsHook', interval=50, max_bad_fraction=0.05),
    # stop at the first NaN/Inf loss, naming the last good checkpoint
    nonfinite_loss=dict(type='NonFiniteLossHook'),
    # warn when the queued embeddings collapse
    collapse=dict(type='EmbeddingCollapseHook', interval=50, threshold=0.1),
    # cross-object config checks before the first step
    config_check=dict(type='PretrainConfigCheckHook', probe_videos=16),
    # "excluded N videos" next to val/test metrics (allow_skip_in_test)
    excluded_videos=dict(type='ExcludedVideosHook'),
)
# Eq.6 momentum schedule, paper convention: 0.994 -> 1 (cosine, per iteration)
custom_hooks = [dict(type='MomentumUpdateHook', base_momentum=0.994,
                     end_momentum=1.0)]
# smooth accuracies and NN similarity over the window like the losses
log_processor = dict(
    type='LogProcessor', window_size=10, by_epoch=True,
    mean_pattern=r'.*(loss|time|data_time|grad_norm|acc_|_nce|_ce|nn_sim).*')
# vis_backends = [dict(type='LocalVisBackend'),
#                 dict(type='TensorboardVisBackend')]
