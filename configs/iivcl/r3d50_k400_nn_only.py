# NN-only ablation (IIVCL paper, Table 6: lambda_intra=0, lambda_nn=1), the
# video
# analogue of NNCLR. The intra branch is neither built nor run.
_base_ = './r3d50_k400.py'
model = dict(lambda_intra=0.0, lambda_nn=1.0, head_intra=None)
# every pretraining config trains into a directory of its own
work_dir = './work_dirs/iivcl_r3d50_k400_nn_only'
