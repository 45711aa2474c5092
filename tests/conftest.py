import pytest


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's torch work on one thread, then restore the setting.

    Tiny nets are bound by per-op overhead: one thread is faster and steadier on a shared CPU.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
