"""Grid perception: learning cell classes from frames, persistence, input checks, labelled frames from an env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hybrid.neural.planning import GridPerception, collect_labelled_frames, grid_accuracy

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROWS, COLS, CLASSES, CELL = 3, 4, 5, 10


def _synthetic(n: int, seed: int, noise: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Frames of random grids, each class a fixed random 10 x 10 texture plus per-pixel noise."""
    rng = np.random.default_rng(seed)
    textures = np.random.default_rng(1234).integers(0, 256, size=(CLASSES, CELL, CELL, 3))
    grids = rng.integers(0, CLASSES, size=(n, ROWS, COLS))
    frames = textures[grids].transpose(0, 1, 3, 2, 4, 5).reshape(n, ROWS * CELL, COLS * CELL, 3)
    frames = frames + rng.integers(-noise, noise + 1, size=frames.shape)
    return np.clip(frames, 0, 255).astype(np.uint8), grids


@pytest.fixture(scope="module")
def fitted():
    frames, grids = _synthetic(30, 0)
    return GridPerception(ROWS, COLS, CLASSES, cell_pixels=8, channels=8, epochs=6, seed=0).fit(frames, grids)


def test_learns_cell_classes_far_above_chance(fitted):
    frames, grids = _synthetic(200, 1)
    acc = grid_accuracy(fitted.predict(frames), grids)
    # chance is 1/5 per cell and (1/5)^12 per grid
    assert acc["cell_accuracy"] > 0.98
    assert acc["state_accuracy"] > 0.8
    assert fitted.history_[-1] < fitted.history_[0] / 3
    assert fitted.score(frames, grids) == acc


def test_predict_shapes_and_probabilities(fitted):
    frames, _ = _synthetic(5, 2)
    proba = fitted.predict_proba(frames)
    assert proba.shape == (5, ROWS, COLS, CLASSES) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(-1), 1.0, atol=1e-5)
    pred = fitted.predict(frames)
    assert pred.shape == (5, ROWS, COLS) and pred.dtype == np.int64
    np.testing.assert_array_equal(pred, proba.argmax(-1))
    np.testing.assert_array_equal(fitted.predict(frames[0]), pred[0])  # one frame -> one grid


def test_same_seed_same_model_and_save_load_round_trip(fitted, tmp_path):
    frames, grids = _synthetic(30, 0)
    again = GridPerception(ROWS, COLS, CLASSES, cell_pixels=8, channels=8, epochs=6, seed=0).fit(frames, grids)
    test, _ = _synthetic(20, 3)
    np.testing.assert_array_equal(again.predict_proba(test), fitted.predict_proba(test))
    path = tmp_path / "perception.pt"
    fitted.save(path)
    loaded = GridPerception.load(path)
    assert loaded.frame_shape_ == fitted.frame_shape_
    assert (loaded.rows, loaded.cols, loaded.num_classes, loaded.cell_pixels) == (ROWS, COLS, CLASSES, 8)
    np.testing.assert_array_equal(loaded.predict(test), fitted.predict(test))
    np.testing.assert_allclose(loaded.predict_proba(test), fitted.predict_proba(test), rtol=0, atol=1e-6)


def test_native_cell_size_without_resizing():
    frames, grids = _synthetic(20, 4)
    p = GridPerception(ROWS, COLS, CLASSES, cell_pixels=None, channels=4, epochs=3, seed=1).fit(frames, grids)
    assert p.predict(frames).shape == grids.shape


def test_bad_inputs_raise_clear_errors(fitted, tmp_path):
    frames, grids = _synthetic(4, 5)
    p = GridPerception(ROWS, COLS, CLASSES, epochs=1)
    with pytest.raises(ValueError, match="uint8"):
        p.fit(frames.astype(np.float32), grids)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        p.fit(frames[..., :2], grids)
    with pytest.raises(ValueError, match="do not split"):
        p.fit(frames[:, :-1], grids)
    with pytest.raises(ValueError, match="grids must have shape"):
        p.fit(frames, grids[:, :2])
    with pytest.raises(ValueError, match="grids must have shape"):
        p.fit(frames, grids[:3])
    with pytest.raises(ValueError, match=r"classes in \[0, 5\)"):
        p.fit(frames, np.where(grids == 0, CLASSES, grids))
    with pytest.raises(ValueError, match="integer"):
        p.fit(frames, grids.astype(float))
    with pytest.raises(ValueError, match="num_classes"):
        GridPerception(ROWS, COLS, 1).fit(frames, grids)
    with pytest.raises(ValueError, match="device"):
        GridPerception(ROWS, COLS, CLASSES, device="tpu").fit(frames, grids)
    with pytest.raises(RuntimeError, match="not fitted"):
        p.predict(frames)
    with pytest.raises(ValueError, match="as in training"):
        fitted.predict(np.zeros((1, ROWS * 2 * CELL, COLS * CELL, 3), np.uint8))
    with pytest.raises(ValueError, match="not hold a saved GridPerception"):
        path = tmp_path / "other.pt"
        import torch

        torch.save({"x": torch.zeros(1)}, path)
        GridPerception.load(path)


def test_grid_accuracy():
    t = np.zeros((2, 2, 2), dtype=int)
    p = t.copy()
    p[1, 0, 0] = 1
    assert grid_accuracy(p, t) == {"cell_accuracy": 7 / 8, "state_accuracy": 0.5}
    with pytest.raises(ValueError, match="same shape"):
        grid_accuracy(p, t[:1])


# -- labelled frames from an env --------------------------------------------------------------------------------------


class _CounterModel:
    """A 1 x 3 strip whose cells count presses modulo 3 (classes 0, 1, 2)."""

    num_actions, num_players = 3, 1

    def to_grid(self, state):
        return np.array([state], dtype=np.int64)


class _CounterEnv(gym.Env):
    """Press one of three cells; each cell is drawn as a 6 x 6 patch of one grey level per class."""

    def __init__(self):
        self.model = _CounterModel()
        self.observation_space = gym.spaces.Box(0, 255, (6, 18, 3), np.uint8)
        self.action_space = gym.spaces.Discrete(3)

    def _out(self):
        frame = (np.repeat(np.repeat(np.array([self.state]), 6, 0), 6, 1) * 100).astype(np.uint8)
        mask = np.array([c < 2 for c in self.state])  # a cell at class 2 can no longer be pressed
        return np.repeat(frame[..., None], 3, 2), {"state": self.state, "action_mask": mask}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        start = (options or {}).get("start", 0)
        self.state = (start, start, start)
        return self._out()

    def step(self, action):
        s = list(self.state)
        s[action] += 1
        self.state = tuple(s)
        done = all(c == 2 for c in s)
        frame, info = self._out()
        return frame, float(done), done, False, info


def test_collect_labelled_frames_labels_every_frame_with_its_state():
    frames, grids = collect_labelled_frames(_CounterEnv(), 40, seed=3, steps_per_episode=4)
    assert frames.shape == (40, 6, 18, 3) and frames.dtype == np.uint8
    assert grids.shape == (40, 1, 3) and grids.dtype == np.int64
    # the label is what the frame shows: grey level / 100 in each cell
    np.testing.assert_array_equal(frames[:, ::6, ::6, 0] // 100, grids)
    assert (grids[0] == 0).all()  # the first frame is the reset one
    assert (grids.reshape(40, -1).sum(1) <= 4).all()  # at most 4 presses before a reset
    again = collect_labelled_frames(_CounterEnv(), 40, seed=3, steps_per_episode=4)
    np.testing.assert_array_equal(again[1], grids)
    # actions follow the mask: no cell ever goes past class 2; options reach reset()
    _, g = collect_labelled_frames(_CounterEnv(), 30, seed=0, steps_per_episode=None, start=1)
    assert g.max() == 2 and (g[0] == 1).all()


def test_collect_labelled_frames_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n must be"):
        collect_labelled_frames(_CounterEnv(), 0)
    with pytest.raises(ValueError, match="steps_per_episode"):
        collect_labelled_frames(_CounterEnv(), 5, steps_per_episode=0)
    env = _CounterEnv()
    env.model = object()
    with pytest.raises(ValueError, match="TransitionModel"):
        collect_labelled_frames(env, 5)


# -- the envs of tasks.envs -------------------------------------------------------------------------------------------


def test_collected_labels_match_what_the_env_draws():
    from hybrid.tasks.envs.drawing import grid_from_frame

    env = gym.make("hybrid/SlidingPuzzle-v0")
    frames, grids = collect_labelled_frames(env, 30, seed=0)
    tiles = env.unwrapped.tiles
    for frame, grid in zip(frames, grids, strict=True):
        np.testing.assert_array_equal(grid_from_frame(frame, tiles), grid)
    assert len({g.tobytes() for g in grids}) > 10


@pytest.mark.parametrize(
    ("env_id", "classes", "min_state_accuracy"),
    [("hybrid/LightsOut-v0", 2, 0.99), ("hybrid/SlidingPuzzle-v0", 9, 0.99), ("hybrid/Sokoban-v0", 7, 0.99)],
)
def test_reads_env_frames_after_100_labelled_frames(env_id, classes, min_state_accuracy):
    frames, grids = collect_labelled_frames(env_id, 100, seed=0)
    test_frames, test_grids = collect_labelled_frames(env_id, 200, seed=1)
    rows, cols = grids.shape[1:]
    p = GridPerception(rows, cols, classes, epochs=2, seed=0).fit(frames, grids)
    acc = p.score(test_frames, test_grids)
    assert acc["cell_accuracy"] > 0.99 and acc["state_accuracy"] >= min_state_accuracy
