"""The discrete state encoder learns symbols from unlabelled transitions of a small Lights Out."""

from __future__ import annotations

import numpy as np
import pytest
from hybrid.neural.planning.latent import DiscreteStateEncoder
from hybrid.neural.planning.transitions import collect_transitions

from hybrid.planning.envs import planning_env

KWARGS = {"size": 2, "cell_px": 8}


@pytest.fixture(scope="module")
def fitted():
    data = collect_transitions("hybrid/LightsOut-v0", 300, seed=0, steps_per_episode=8, env_kwargs=KWARGS)
    enc = DiscreteStateEncoder((2, 2), categories=4, epochs=30, batch_size=50, seed=0, device="cpu")
    return enc.fit(data.frames, data.actions, data.next_frames, 4), data


def _all_frames():
    row = planning_env("hybrid/LightsOut-v0")
    model = row.model(KWARGS)
    return np.stack(row.draw([model.to_grid(s) for s in range(16)], KWARGS))


def test_every_state_gets_its_own_latent_and_decodes_back(fitted):
    enc, _ = fitted
    frames = _all_frames()
    z = enc.encode(frames)
    assert z.shape == (16, 4) and z.dtype == np.int64
    assert len({tuple(r) for r in z}) == 16  # the 16 light patterns are told apart
    # each slot's symbol is its own light's: one symbol for on, one for off (symbols that draw the cell
    # alike were merged after training, so a neighbour seen through the margin splits nothing)
    for s in range(4):
        lit = np.array([(k >> s) & 1 for k in range(16)])
        assert len(set(zip(z[:, s], lit, strict=True))) == 2
    err = np.abs(enc.decode(z).astype(float) - frames.astype(float)).mean()
    assert err < 10  # in grey levels out of 255


def test_training_is_deterministic_for_a_seed(fitted):
    enc, data = fitted
    again = DiscreteStateEncoder((2, 2), categories=4, epochs=2, batch_size=50, seed=3, device="cpu")
    once = DiscreteStateEncoder((2, 2), categories=4, epochs=2, batch_size=50, seed=3, device="cpu")
    a = again.fit(data.frames[:100], data.actions[:100], data.next_frames[:100], 4).encode(data.frames[:50])
    b = once.fit(data.frames[:100], data.actions[:100], data.next_frames[:100], 4).encode(data.frames[:50])
    assert np.array_equal(a, b)


def test_merging_can_be_turned_off(fitted):
    enc, data = fitted
    raw = DiscreteStateEncoder((2, 2), categories=4, epochs=2, batch_size=50, seed=3, merge_tol=0, device="cpu")
    raw.fit(data.frames[:100], data.actions[:100], data.next_frames[:100], 4)
    assert np.array_equal(raw.canonical_, np.arange(4)[None].repeat(4, 0))
    assert enc.canonical_.shape == (4, 4) and (enc.canonical_ <= np.arange(4)).all()


def test_bad_input_is_refused(fitted):
    enc, data = fitted
    with pytest.raises(ValueError, match="training frames' size"):
        enc.encode(np.zeros((1, 24, 24, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8 array"):
        enc.encode(data.frames.astype(np.float32))
    with pytest.raises(ValueError, match="actions must be ints in 0..3"):
        DiscreteStateEncoder((2, 2), epochs=1).fit(data.frames[:4], np.array([0, 1, 2, 4]), data.next_frames[:4], 4)
    with pytest.raises(ValueError, match="do not split into a 3x3"):
        DiscreteStateEncoder((3, 3), epochs=1).fit(data.frames[:4], data.actions[:4], data.next_frames[:4], 4)
    with pytest.raises(ValueError, match="states must hold symbols"):
        enc.decode(np.full((1, 4), 9))
    with pytest.raises(RuntimeError, match="not fitted"):
        DiscreteStateEncoder((2, 2)).encode(data.frames[:1])
