# IIVCL initialised from a rho-MoCo checkpoint (IIVCL paper, Table 8):
#   --cfg-options load_from=work_dirs/pmoco_r3d50_k400/epoch_200.pth
# load_from loads the full state (backbone, heads, momentum encoder, intra
# queue); the NN branch (absent from rho-MoCo) starts fresh.
_base_ = './r3d50_k400.py'
load_from = None  # set to the rho-MoCo checkpoint
# every pretraining config trains into a directory of its own
work_dir = './work_dirs/iivcl_r3d50_k400_from_pmoco'
