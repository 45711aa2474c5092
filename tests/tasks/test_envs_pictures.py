"""Harder pictures for planning from pixels: handwritten 8-puzzle tiles, the swirl warp and Twisted Lights Out."""

import hashlib
import math
import warnings

import gymnasium as gym
import hybrid.tasks.envs  # noqa: F401  (registers the ids)
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hybrid.tasks.envs import LightsOutEnv, SlidingPuzzleEnv, TwistedLightsOutEnv
from hybrid.tasks.envs.drawing import frame_from_grid, grid_from_frame
from hybrid.tasks.envs.lights_out import TWIST, lights_out_tiles
from hybrid.tasks.envs.sliding_puzzle import EDGE, TILE, handwritten_digits, sliding_puzzle_tiles
from hybrid.tasks.envs.warp import default_swirl_radius, swirl


def digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def checker_warnings(env) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    return [str(w.message) for w in caught]


# ---------------------------------------------------------------------------- the defaults are today's pictures


def test_default_pictures_are_unchanged():
    # Digests of the tiles and frames drawn before `digits`, `writer` and `twist` existed.
    assert digest(sliding_puzzle_tiles(3, 32)) == "0ec8b2d50d0bb518"
    assert digest(sliding_puzzle_tiles(4, 20)) == "e4250a248455b563"
    assert digest(lights_out_tiles(16)) == "9f73b17b4056e0fe"
    assert digest(LightsOutEnv().reset(seed=4)[0]) == "6df5822c3f3b9929"
    assert digest(SlidingPuzzleEnv().reset(seed=4)[0]) == "ae252daa87fd3107"
    assert np.array_equal(sliding_puzzle_tiles(3, 32, "printed", writer=7), sliding_puzzle_tiles(3, 32))


# ---------------------------------------------------------------------------- handwritten tiles


def test_handwritten_digits_are_scikit_learns_and_cached():
    images, labels = handwritten_digits()
    assert images.shape == (1797, 8, 8) and labels.shape == (1797,)
    assert images.dtype == np.float32 and 0.0 <= images.min() and images.max() == 1.0
    assert set(labels.tolist()) == set(range(10))
    assert handwritten_digits() is handwritten_digits()
    with pytest.raises(ValueError):
        images[0, 0, 0] = 1.0  # read-only: a caller cannot spoil the cache


def test_handwritten_tiles_differ_from_printed_ones_and_keep_blank_and_border():
    printed = sliding_puzzle_tiles(3, 32)
    hand = sliding_puzzle_tiles(3, 32, "handwritten")
    assert hand.shape == printed.shape == (9, 32, 32, 3) and hand.dtype == np.uint8
    assert np.array_equal(hand[0], printed[0])  # the blank stays the dark tile
    assert all(not np.array_equal(hand[k], printed[k]) for k in range(1, 9))
    border = max(1, 32 // 16)
    for t in hand[1:]:
        assert (t[:border] == EDGE).all() and (t[-border:] == EDGE).all()
        assert (t[:, :border] == EDGE).all() and (t[:, -border:] == EDGE).all()
        inside = t[border:-border, border:-border].astype(int)
        assert (inside == TILE).all(-1).any()  # light paper ...
        assert inside.sum(-1).min() < 200  # ... and dark ink
    assert len({t.tobytes() for t in hand}) == 9


def test_handwritten_tiles_are_deterministic_per_writer_and_differ_between_writers():
    a = sliding_puzzle_tiles(3, 32, "handwritten", writer=0)
    assert np.array_equal(a, sliding_puzzle_tiles(3, 32, "handwritten", writer=0))
    for other in (1, 2, 12345):
        b = sliding_puzzle_tiles(3, 32, "handwritten", writer=other)
        assert np.array_equal(a[0], b[0])
        assert all(not np.array_equal(a[k], b[k]) for k in range(1, 9))


def test_larger_boards_draw_two_handwritten_digits_side_by_side():
    tiles = sliding_puzzle_tiles(4, 32, "handwritten", writer=5)
    assert tiles.shape == (16, 32, 32, 3) and len({t.tobytes() for t in tiles}) == 16
    ink = tiles[12, 2:-2, 2:-2].astype(int).sum(-1) < 400  # tile 12 inside its border: "1" left, "2" right
    cols = np.flatnonzero(ink.any(0))
    assert cols.min() < 14 <= cols.max()
    rows = np.flatnonzero(ink.any(1))
    assert rows.max() - rows.min() < 16  # about half the height of a one-digit tile
    one = np.flatnonzero((sliding_puzzle_tiles(3, 32, "handwritten", writer=5)[1, 2:-2, 2:-2].astype(int).sum(-1)
                          < 400).any(1))
    assert one.max() - one.min() > 16


def test_a_handwritten_frame_reads_back_exactly():
    env = SlidingPuzzleEnv(digits="handwritten", writer=4)
    obs, info = env.reset(seed=0)
    assert np.array_equal(grid_from_frame(obs, env.tiles), env.model.to_grid(info["state"]))
    assert np.array_equal(obs, frame_from_grid(env.model.to_grid(info["state"]), env.tiles))
    assert env.digits == "handwritten" and env.writer == 4


@pytest.mark.parametrize("obs_type", ["rgb", "symbolic"])
def test_handwritten_env_passes_the_env_checker(obs_type):
    env = gym.make("hybrid/SlidingPuzzle-v0", render_mode="rgb_array", obs_type=obs_type,
                   digits="handwritten", writer=3)
    assert checker_warnings(env.unwrapped) == []
    env.close()


def test_handwritten_rules_are_the_printed_ones():
    hand, printed = SlidingPuzzleEnv(digits="handwritten"), SlidingPuzzleEnv()
    a, ia = hand.reset(seed=9, options={"scramble": 14})
    b, ib = printed.reset(seed=9, options={"scramble": 14})
    assert ia["state"] == ib["state"] and not np.array_equal(a, b)
    for action in hand.model.legal_action_ids(ia["state"]):
        assert hand.step(action)[1:4] == printed.step(action)[1:4]
        break


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"digits": "mnist"}, "digits"),
        ({"digits": None}, "digits"),
        ({"digits": "handwritten", "writer": -1}, "writer"),
        ({"digits": "handwritten", "writer": 1.5}, "writer"),
    ],
)
def test_bad_digits_or_writer_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        sliding_puzzle_tiles(3, 32, **kwargs)
    with pytest.raises(ValueError, match=name):
        SlidingPuzzleEnv(**kwargs)


# ---------------------------------------------------------------------------- the swirl


def test_swirl_with_strength_zero_is_the_identity():
    frame = np.random.default_rng(0).integers(0, 256, size=(30, 41, 3), dtype=np.uint8)
    out = swirl(frame, 0.0)
    assert np.array_equal(out, frame) and out is not frame


@pytest.mark.parametrize("shape", [(31, 31, 3), (25, 40, 3), (33, 33)])
def test_swirl_moves_pixels_but_keeps_shape_dtype_and_centre(shape):
    frame = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
    out = swirl(frame, 3.0)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert (out != frame).mean() > 0.3
    h, w = shape[:2]
    if h % 2 and w % 2:
        assert np.array_equal(out[h // 2, w // 2], frame[h // 2, w // 2])


def test_swirl_follows_the_formula():
    # Bilinear sampling is exact on a linear ramp, so each output pixel shows where it samples from.
    h, w, strength = 41, 41, 2.0
    frame = np.broadcast_to((np.arange(w) * 6)[None, :], (h, w)).astype(np.uint8)
    out = swirl(frame, strength).astype(float)
    y0, x0 = (h - 1) / 2, (w - 1) / 2
    r = math.log(2) * default_swirl_radius(h, w) / 5
    yy, xx = np.mgrid[0:h, 0:w]
    rho = np.hypot(yy - y0, xx - x0)
    theta = np.arctan2(yy - y0, xx - x0) + strength * np.exp(-rho / r)
    expected = 6 * np.clip(x0 + rho * np.cos(theta), 0, w - 1)
    assert np.abs(out - expected).max() <= 1.0
    assert default_swirl_radius(h, w) == 0.75 * 41


def test_swirl_keeps_a_flat_image_flat_and_leaves_the_far_corners():
    flat = np.full((40, 40, 3), 77, dtype=np.uint8)
    assert np.array_equal(swirl(flat, 5.0), flat)
    frame = np.random.default_rng(2).integers(0, 256, size=(81, 81, 3), dtype=np.uint8)
    out = swirl(frame, 3.0, radius=20.0)
    assert np.array_equal(out[:5, :5], frame[:5, :5])  # 56 pixels out, the twist has died away


@pytest.mark.parametrize(
    "args, name",
    [
        ((np.zeros((4, 4, 3), dtype=np.float32), 1.0), "frame"),
        ((np.zeros((4,), dtype=np.uint8), 1.0), "frame"),
        ((np.zeros((4, 4), dtype=np.uint8), float("nan")), "strength"),
        ((np.zeros((4, 4), dtype=np.uint8), "3"), "strength"),
        ((np.zeros((4, 4), dtype=np.uint8), 1.0, 0.0), "radius"),
    ],
)
def test_swirl_rejects_bad_arguments_naming_them(args, name):
    with pytest.raises(ValueError, match=name):
        swirl(*args)


# ---------------------------------------------------------------------------- Twisted Lights Out


def test_twisted_lights_out_is_registered_with_the_default_twist():
    spec = gym.spec("hybrid/TwistedLightsOut-v0")
    assert spec.max_episode_steps == 100
    env = gym.make("hybrid/TwistedLightsOut-v0")
    assert isinstance(env.unwrapped, TwistedLightsOutEnv) and isinstance(env.unwrapped, LightsOutEnv)
    assert env.unwrapped.twist == TWIST == 3.0
    env.close()
    assert LightsOutEnv().twist == 0.0 and TwistedLightsOutEnv(twist=0).twist == 0.0


def test_twisted_frames_are_the_plain_frames_swirled_and_the_rules_are_the_same():
    twisted = gym.make("hybrid/TwistedLightsOut-v0", render_mode="rgb_array")
    plain = gym.make("hybrid/LightsOut-v0", render_mode="rgb_array")
    assert repr(twisted.unwrapped.model) == repr(plain.unwrapped.model)
    t_obs, t_info = twisted.reset(seed=5)
    p_obs, p_info = plain.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(6):
        assert t_info["state"] == p_info["state"]
        assert np.array_equal(t_info["action_mask"], p_info["action_mask"])
        assert t_obs.shape == p_obs.shape == (80, 80, 3) and not np.array_equal(t_obs, p_obs)
        assert np.array_equal(t_obs, swirl(p_obs, TWIST))
        assert np.array_equal(twisted.render(), t_obs) and np.array_equal(plain.render(), p_obs)
        action = int(rng.integers(25))
        t_obs, t_r, t_term, _, t_info = twisted.step(action)
        p_obs, p_r, p_term, _, p_info = plain.step(action)
        assert (t_r, t_term) == (p_r, p_term)
    twisted.close()
    plain.close()


def test_twisted_cells_are_not_squares():
    # A plain frame cuts into 16 x 16 squares that are exactly the two tiles; in a twisted
    # frame no square is a tile any more, and most are far from both.
    def distances(frame, tiles):
        crops = frame.reshape(5, 16, 5, 16, 3).transpose(0, 2, 1, 3, 4).reshape(25, 1, 16, 16, 3).astype(int)
        return np.abs(crops - tiles[None].astype(int)).sum(-1).mean((-1, -2)).min(1)

    for seed in range(3):
        twisted, plain = TwistedLightsOutEnv(), LightsOutEnv()
        t_obs, _ = twisted.reset(seed=seed)
        p_obs, _ = plain.reset(seed=seed)
        assert (distances(p_obs, plain.tiles) == 0).all()
        d = distances(t_obs, twisted.tiles)
        assert (d > 0).all() and (d > 20).sum() >= 12


def test_twisted_symbolic_observations_are_the_plain_ones():
    a = TwistedLightsOutEnv(obs_type="symbolic").reset(seed=2)[0]
    b = LightsOutEnv(obs_type="symbolic").reset(seed=2)[0]
    assert np.array_equal(a, b) and a.dtype == np.uint8


@pytest.mark.parametrize("obs_type", ["rgb", "symbolic"])
def test_twisted_env_passes_the_env_checker(obs_type):
    env = gym.make("hybrid/TwistedLightsOut-v0", render_mode="rgb_array", obs_type=obs_type)
    assert checker_warnings(env.unwrapped) == []
    env.close()


@pytest.mark.parametrize("twist", [-1.0, float("inf"), "3", True])
def test_bad_twist_raises_value_error_naming_it(twist):
    with pytest.raises(ValueError, match="twist"):
        LightsOutEnv(twist=twist)
