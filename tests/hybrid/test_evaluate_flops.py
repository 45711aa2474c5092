"""The FLOP counter against hand counts, and against a second, independent counter (ptflops)."""

import pytest
import torch

from hybrid.evaluate.flops import TorchFlopCounter, rnn_formulas, rnn_forward_flops

B, T, I, H = 8, 20, 32, 128


def _count(fn):
    counter = TorchFlopCounter()
    with counter:
        out = fn()
    return counter.total, out


def _forward_backward(module, x):
    forward, y = _count(lambda: module(x))
    y = y[0] if isinstance(y, tuple) else y
    backward, _ = _count(lambda: y.sum().backward())
    return forward, backward


def test_linear_hand_count():
    torch.manual_seed(0)
    layer = torch.nn.Linear(32, 16)
    x = torch.randn(64, 32, requires_grad=True)
    forward, backward = _forward_backward(layer, x)
    assert forward == 2 * 64 * 32 * 16
    assert backward == 2 * forward  # gradient of the input and of the weight


def test_conv2d_hand_count():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 8, 3, padding=1)
    x = torch.randn(2, 3, 10, 10, requires_grad=True)
    forward, backward = _forward_backward(conv, x)
    assert forward == 2 * (2 * 8 * 10 * 10) * (3 * 3 * 3)
    assert backward == 2 * forward


def test_lstm_hand_count_forward_and_backward():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(I, H, batch_first=True)
    x = torch.randn(B, T, I, requires_grad=True)
    forward, backward = _forward_backward(lstm, x)
    hand = 2 * B * T * 4 * H * (I + H)  # four gates: W_ih x + W_hh h at every step
    assert forward == hand == 26_214_400
    assert backward == 2 * hand


def test_gru_hand_count_forward_and_backward():
    torch.manual_seed(0)
    gru = torch.nn.GRU(I, H, batch_first=True)
    x = torch.randn(B, T, I, requires_grad=True)
    forward, backward = _forward_backward(gru, x)
    hand = 2 * B * T * 3 * H * (I + H)
    assert forward == hand == 19_660_800
    # input and weight gradients at every step, less the hidden gradient of the first step
    # (the initial state is a constant)
    assert backward == 2 * hand - 2 * B * 3 * H * H


def test_stacked_bidirectional_lstm_counts_every_layer_and_direction():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(I, H, num_layers=2, bidirectional=True)
    x = torch.randn(T, B, I)
    forward, _ = _count(lambda: lstm(x))
    layer0 = 2 * T * B * 4 * H * (I + H)
    layer1 = 2 * T * B * 4 * H * (2 * H + H)
    assert forward == 2 * (layer0 + layer1)


def test_cudnn_formula_reads_the_flat_weight_list():
    """The cuDNN op gets every layer's weights in one list; checked on meta tensors (no GPU here)."""
    import torch.ops

    formulas = rnn_formulas()
    cudnn = torch.ops.aten._cudnn_rnn
    if cudnn not in formulas:
        pytest.skip("this torch build has no _cudnn_rnn op")
    lstm = torch.nn.LSTM(I, H, num_layers=2, proj_size=16)
    weights = [w.to("meta") for w in lstm._flat_weights]
    x = torch.empty(T, B, I, device="meta")
    expected = sum(rnn_forward_flops(T * B, [w]) for w in weights if w.dim() == 2)
    assert formulas[cudnn](x, weights, 5) == expected
    # the projection's product is in: W_hr is 16 x 128
    assert expected == 2 * T * B * (4 * H * I + 4 * H * 16 + 16 * H + 4 * H * 16 + 4 * H * 16 + 16 * H)
    backward = formulas[torch.ops.aten._cudnn_rnn_backward]
    mask_all, mask_data = [True, True, True, True], [True, True, True, False]
    args = (x, weights, 5, None, None, None, None, None, None, None, 2, H, 16, 2, False, 0.0, True, False, [], None,
            None)
    assert backward(*args, mask_all) == 2 * expected
    assert backward(*args, mask_data) == expected


def test_by_op_splits_the_total():
    lstm = torch.nn.LSTM(I, H, batch_first=True)
    head = torch.nn.Linear(H, 4)
    counter = TorchFlopCounter()
    with counter:
        head(lstm(torch.randn(B, T, I))[0][:, -1])
    assert sum(counter.by_op.values()) == counter.total
    assert counter.by_op["mkldnn_rnn_layer"] == 2 * B * T * 4 * H * (I + H)


# ---------------------------------------------------------------- a second, independent counter

ptflops = pytest.importorskip("ptflops")

#: Layers ptflops charges for elementwise work that FlopCounterMode's convention leaves out.
_ELEMENTWISE = [torch.nn.BatchNorm2d, torch.nn.ReLU, torch.nn.Tanh, torch.nn.AdaptiveAvgPool2d,
                torch.nn.AdaptiveMaxPool2d, torch.nn.Flatten]


def _ptflops(module, constructor):
    macs, _ = ptflops.get_model_complexity_info(
        module, (1,), input_constructor=lambda _: constructor(), as_strings=False, print_per_layer_stat=False,
        backend="pytorch", ignore_modules=_ELEMENTWISE, backend_specific_config={"count_functional": False})
    return 2 * macs  # ptflops counts multiply-accumulates


def _vqa_inputs(n_words=60, batch=16, length=12):
    gen = torch.Generator().manual_seed(0)
    return lambda: {"images": torch.randint(0, 256, (batch, 128, 128, 3), dtype=torch.uint8, generator=gen),
                    "image_of": torch.arange(batch),
                    "tokens": torch.randint(1, n_words, (batch, length), generator=gen),
                    "lengths": torch.full((batch,), length)}


@pytest.mark.parametrize("net_name", ["CNNLSTMNet", "FiLMNet"])
def test_vqa_baselines_match_ptflops_within_5_percent(net_name):
    import hybrid.neural.vqa.baselines as baselines

    torch.manual_seed(0)
    net = getattr(baselines, net_name)(60, 28).eval()
    inputs = _vqa_inputs()
    ours, _ = _count(lambda: net(**inputs()))
    theirs = _ptflops(net, inputs)
    assert ours == pytest.approx(theirs, rel=0.05)


def test_regression_mlp_matches_ptflops_within_5_percent():
    import numpy as np
    from hybrid.neural.regression import MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, (200, 3))
    y = X[:, 0] * X[:, 1] / X[:, 2]
    reg = MLPRegressor(widths=(64,), learning_rates=(1e-2,), max_epochs=5, seed=0).fit(X, y)
    X_test = rng.uniform(1, 2, (500, 3))
    ours, _ = _count(lambda: reg.predict(X_test))
    theirs = _ptflops(reg.network_, lambda: {"input": torch.as_tensor(X_test, dtype=torch.float32)})
    assert ours == pytest.approx(theirs, rel=0.05)
    assert ours == 2 * 500 * (3 * 64 + 64 * 64 + 64)  # and the hand count


def test_counting_changes_nothing_that_is_computed():
    """Results and random streams are bit for bit those of an unmetered run (dropout, sampling, training)."""
    import numpy as np
    from hybrid.neural.vqa.baselines import CNNLSTM

    x = torch.randn(1000)
    probs = torch.softmax(torch.randn(4, 10), 1)

    def work():
        torch.manual_seed(0)
        return (torch.nn.functional.dropout(x, 0.5, training=True), torch.multinomial(probs, 3), torch.rand(3))

    plain = work()
    with TorchFlopCounter():
        counted = work()
    assert all(torch.equal(a, b) for a, b in zip(plain, counted, strict=True))

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    questions = ["is there a red cube", "how many spheres", "what colour is the cube"] * 4
    answers = ["yes", "2", "red"] * 4
    index = np.repeat(np.arange(6), 2)
    fits = []
    for count in (False, True):
        model = CNNLSTM(epochs=2, batch_size=4, seed=0, input_size=32, channels=8, hidden=16, mlp_hidden=16)
        if count:
            with TorchFlopCounter():
                model.fit(images, questions, answers, index)
        else:
            model.fit(images, questions, answers, index)
        fits.append(model.net_.state_dict())
    assert all(torch.equal(fits[0][k], fits[1][k]) for k in fits[0])
