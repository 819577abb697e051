"""Where the CPU demo's runs live (``tools/run_demo.py`` writes them,
``tools/compare_finetune.py`` and the figure script read them)."""
import os.path as osp

from .paths import REPO_ROOT

#: the main job's pretraining config
DEMO_CONFIG = osp.join(REPO_ROOT, 'configs', 'demo', 'iivcl_r3d18_demo.py')


def default_work_dir(config: str) -> str:
    """Where the seeds' runs of ``config`` go: ``work_dirs/demo`` for the
    main job's config, ``work_dirs/demo_<config name>`` for another."""
    name = osp.splitext(osp.basename(config))[0]
    return osp.join(REPO_ROOT, 'work_dirs', 'demo' if osp.abspath(config) ==
                    DEMO_CONFIG else f'demo_{name}')
