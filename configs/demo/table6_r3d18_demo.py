# The IIVCL paper's Table 6 at small scale (tools/reproduce_table6.py): the CPU
# demo
# (iivcl_r3d18_demo.py: R3D-18, base 16 channels, 128-d features, 8x32^2
# clips, rho = 2, queue 96 = 48 videos < half of the 240 training videos,
# same-video exclusion on) with the measurements the comparison reports,
# taken at EVERY iteration and written to the work dir's
# <timestamp>/vis_data/scalars.json:
# - NNQueueStatsHook: the neighbours the NN branch picked (nnq_label_agree,
#   nnq_same_video, ...) -- settings with lambda_NN > 0;
# - QueueNNProbeHook on the intra queue: the neighbour Eq.3 *would* pick in
#   the g^Intra embedding (iq_label_agree, iq_same_video, ...) -- settings
#   with lambda_intra > 0, so rho-MoCo gets a curve too.
# tools/reproduce_table6.py sets the lambdas, epochs, schedule and data paths
# per run; by hand, one setting is e.g.
#   python tools/train.py configs/demo/table6_r3d18_demo.py \
#       --cfg-options model.lambda_nn=0 model.head_nn=None      # rho-MoCo
#   python tools/train.py configs/demo/table6_r3d18_demo.py \
#       --cfg-options model.lambda_intra=0 model.head_intra=None  # NN only
_base_ = './iivcl_r3d18_demo.py'

custom_hooks = [
    dict(type='MomentumUpdateHook', base_momentum=0.99, end_momentum=None),
    dict(type='NNQueueStatsHook', interval=1),
    dict(type='QueueNNProbeHook', queue='queue_intra', prefix='iq',
         interval=1),
]
# one scalars.json row per iteration (the NN statistics are per-step values)
default_hooks = dict(logger=dict(interval=1))
# every pretraining config trains into a directory of its own
work_dir = './work_dirs/table6_r3d18_demo'
