"""mmiivcl.compat: mmaction2's missing module, weights_only allowlist."""
import io
import pickle

import pytest
import torch

import mmiivcl  # noqa: F401


def test_mmaction_models_import_and_drn_stand_in_fails_clearly():
    import mmaction.models  # noqa: F401  (raises without the stand-in)
    from mmaction.registry import MODELS
    with pytest.raises(ImportError, match='drn'):
        MODELS.build(dict(type='DRN'))


def test_mmengine_message_hub_state_loads_with_weights_only():
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('compat_test')
    for i in range(3):
        hub.update_scalar('train/loss', float(i))
    import numpy as np
    ckpt = dict(meta=dict(epoch=1, iter=3, seed=np.int64(5),
                          hist=np.arange(3, dtype=np.float64)),
                message_hub=hub.state_dict(),
                state_dict=dict(w=torch.ones(2)))
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    buf.seek(0)
    out = torch.load(buf, weights_only=True)
    assert out['message_hub']['log_scalars']['train/loss'].mean() == 1.0
    assert out['meta']['iter'] == 3 and torch.equal(out['state_dict']['w'],
                                                    torch.ones(2))


class _Evil:
    """Pickles as getattr(HistoryBuffer, '__init__'): must be refused."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return getattr, (HistoryBuffer, '__init__')


def test_weights_only_refuses_other_getattr():
    buf = io.BytesIO()
    torch.save({'x': _Evil()}, buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(buf, weights_only=True)


def test_cpu_ddp_wrapper_cfg_and_launcher_patch():
    from mmengine.dist import utils as dist_utils

    from mmiivcl.compat import cpu_ddp_wrapper_cfg
    assert cpu_ddp_wrapper_cfg()['device_ids'] is None
    assert dist_utils._init_dist_pytorch.__module__ == 'mmiivcl.compat'
