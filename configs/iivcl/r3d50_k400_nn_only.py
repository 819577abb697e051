# NN-only ablation (IIVCL paper, Table 6: lambda_intra=0, lambda_nn=1), the
# video
# analogue of NNCLR. The intra branch is neither built nor run.
_base_ = './r3d50_k400.py'
model = dict(lambda_intra=0.0, lambda_nn=1.0, head_intra=None)
