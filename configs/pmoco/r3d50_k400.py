# rho-MoCo baseline (IIVCL paper, Table 6: lambda_intra=1, lambda_nn=0). The NN
# branch is neither built nor run.
_base_ = '../iivcl/r3d50_k400.py'
model = dict(lambda_intra=1.0, lambda_nn=0.0, head_nn=None)
# every pretraining config trains into a directory of its own
work_dir = './work_dirs/pmoco_r3d50_k400'
