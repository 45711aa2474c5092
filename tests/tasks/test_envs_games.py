"""Tic-tac-toe and Connect Four: the bitboard models' rules, validation, and the built-in opponents."""

import random

import numpy as np
import pytest
from hybrid.tasks.envs import (
    ConnectFourModel,
    TicTacToeModel,
    TransitionModel,
    UCTOpponent,
    make_opponent,
    random_opponent,
)

TTT = TicTacToeModel()
C4 = ConnectFourModel()


def play(model, actions, state=None):
    """Play ``actions`` from ``state`` (default: the empty board); return the last Transition and the state."""
    state = model.initial_state() if state is None else state
    t = None
    for a in actions:
        t = model.step(state, a)
        state = t.state
    return t, state


def naive_winner(grid, k):
    """The player (1 or 2 as grid classes) with ``k`` in a row in ``grid`` by brute force, or 0."""
    rows, cols = grid.shape
    for r in range(rows):
        for c in range(cols):
            v = grid[r, c]
            if v == 0:
                continue
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                cells = [(r + i * dr, c + i * dc) for i in range(k)]
                if all(0 <= y < rows and 0 <= x < cols and grid[y, x] == v for y, x in cells):
                    return int(v)
    return 0


@pytest.mark.parametrize("model", [TTT, C4])
def test_models_follow_the_protocol(model):
    assert isinstance(model, TransitionModel)
    s = model.initial_state()
    assert model.current_player(s) == 0 and not model.is_terminal(s)
    assert model.legal_action_ids(s) == tuple(range(model.num_actions))
    assert model.legal_actions(s).dtype == bool and model.legal_actions(s).all()
    t = model.step(s, 1)
    assert model.current_player(t.state) == 1 and t.reward == 0.0 and not t.done
    assert s == model.initial_state()  # the input state is untouched
    hash(t.state)
    planes = model.encode(t.state)
    assert planes.dtype == np.float32 and planes.shape == (3, model.rows, model.cols)
    # Seen from the player to move (player 1): plane 1 holds player 0's single stone, plane 2 says "not player 0".
    assert planes[0].sum() == 0 and planes[1].sum() == 1 and not planes[2].any()


@pytest.mark.parametrize(
    ("moves", "winner"),
    [
        ([0, 3, 1, 4, 2], 0),  # X: top row
        ([3, 0, 4, 1, 8, 2], 1),  # O: top row
        ([0, 1, 3, 2, 6], 0),  # X: left column
        ([0, 2, 1, 5, 3, 8], 1),  # O: right column
        ([0, 1, 4, 2, 8], 0),  # X: main diagonal
        ([0, 2, 1, 4, 5, 6], 1),  # O: anti-diagonal
    ],
)
def test_tic_tac_toe_detects_every_kind_of_line(moves, winner):
    t, state = play(TTT, moves[:-1])
    assert not t.done and TTT.winner(state) is None
    t, state = play(TTT, moves[-1:], state)
    assert t.done and t.reward == 1.0 and TTT.is_terminal(state)
    assert TTT.winner(state) == winner and TTT.legal_action_ids(state) == ()
    assert not TTT.legal_actions(state).any()
    with pytest.raises(ValueError, match="over"):
        TTT.step(state, TTT.to_grid(state).reshape(-1).tolist().index(0))


def test_tic_tac_toe_full_board_draw():
    # X O X / X O O / O X X
    t, state = play(TTT, [0, 1, 2, 4, 3, 5, 7, 6, 8])
    assert t.done and t.reward == 0.0 and TTT.winner(state) is None
    assert TTT.to_grid(state).tolist() == [[1, 2, 1], [1, 2, 2], [2, 1, 1]]
    assert TTT.from_grid(TTT.to_grid(state)) == state


def test_tic_tac_toe_agrees_with_brute_force_on_random_games():
    rng = random.Random(0)
    for _ in range(300):
        state = TTT.initial_state()
        while not TTT.is_terminal(state):
            ids = TTT.legal_action_ids(state)
            assert ids == tuple(int(i) for i in np.flatnonzero(TTT.to_grid(state).reshape(-1) == 0))
            mover = TTT.current_player(state)
            t = TTT.step(state, rng.choice(ids))
            grid = TTT.to_grid(t.state)
            won = naive_winner(grid, 3)
            assert (t.reward == 1.0) == (won == mover + 1)
            assert t.done == (won > 0 or (grid != 0).all())
            assert TTT.from_grid(grid) == t.state
            state = t.state


def test_tic_tac_toe_illegal_steps_raise():
    s = TTT.step(TTT.initial_state(), 4).state
    for action in (4, -1, 9, 1.5, "0"):
        with pytest.raises(ValueError):
            TTT.step(s, action)
    with pytest.raises(ValueError, match="reachable"):
        TTT.step((7, 0, False), 5)  # X has three marks, O none


@pytest.mark.parametrize(
    ("grid", "match"),
    [
        (np.zeros((3, 4), int), "shape"),
        ([[3, 0, 0], [0, 0, 0], [0, 0, 0]], "classes"),
        ([[2, 0, 0], [0, 0, 0], [0, 0, 0]], "marks"),  # O moved first
        ([[1, 1, 0], [0, 0, 0], [0, 0, 0]], "marks"),  # X moved twice
        ([[1, 1, 1], [2, 2, 2], [0, 0, 0]], "reachable"),  # both have a line
        ([[1, 1, 1], [2, 2, 0], [2, 0, 0]], "reachable"),  # O moved after X's line
    ],
)
def test_tic_tac_toe_from_grid_rejects_impossible_grids(grid, match):
    with pytest.raises(ValueError, match=match):
        TTT.from_grid(np.asarray(grid))


@pytest.mark.parametrize(
    ("moves", "winner"),
    [
        ([0, 0, 1, 1, 2, 2, 3], 0),  # horizontal, bottom row
        ([6, 0, 6, 1, 6, 2, 5, 3], 1),  # horizontal for player 1
        ([0, 1, 0, 1, 0, 1, 0], 0),  # vertical
        ([0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3], 0),  # diagonal /
        ([6, 5, 5, 4, 4, 3, 4, 3, 3, 0, 3], 0),  # diagonal \
        ([3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 6], 0),  # bottom row, after three full columns
    ],
)
def test_connect_four_detects_every_kind_of_line(moves, winner):
    t, state = play(C4, moves[:-1])
    assert not t.done and C4.winner(state) is None
    t, state = play(C4, moves[-1:], state)
    assert t.done and t.reward == 1.0 and C4.is_terminal(state) and C4.winner(state) == winner
    assert naive_winner(C4.to_grid(state), 4) == winner + 1
    assert C4.legal_action_ids(state) == () and not C4.legal_actions(state).any()
    assert C4.from_grid(C4.to_grid(state)) == state


def test_connect_four_lines_do_not_wrap_between_columns():
    # Player 0 holds the top three cells of column 0 and the bottom of column 1: consecutive
    # cells in column-major order, but no line on the board.
    t, state = play(C4, [1, 0, 6, 0, 6, 0, 0, 5, 0, 5, 0])
    grid = C4.to_grid(state)
    assert grid[0:3, 0].tolist() == [1, 1, 1] and grid[5, 1] == 1
    assert not t.done and C4.winner(state) is None and naive_winner(grid, 4) == 0


def test_connect_four_agrees_with_brute_force_on_random_games():
    rng = random.Random(1)
    for _ in range(150):
        state = C4.initial_state()
        while not C4.is_terminal(state):
            ids = C4.legal_action_ids(state)
            assert ids == tuple(int(c) for c in np.flatnonzero(C4.to_grid(state)[0] == 0))
            mover = C4.current_player(state)
            t = C4.step(state, rng.choice(ids))
            grid = C4.to_grid(t.state)
            won = naive_winner(grid, 4)
            assert (t.reward == 1.0) == (won == mover + 1)
            assert t.done == (won > 0 or (grid != 0).all())
            state = t.state


def test_connect_four_full_board_draw():
    moves = [4, 3, 6, 0, 1, 4, 5, 5, 1, 1, 5, 0, 1, 6, 0, 1, 5, 5, 1, 0, 4]
    moves += [6, 3, 2, 6, 6, 0, 4, 6, 5, 2, 0, 4, 2, 4, 2, 2, 2, 3, 3, 3, 3]
    t, state = play(C4, moves[:-1])
    assert not t.done and C4.legal_action_ids(state) == (3,)
    t, state = play(C4, moves[-1:], state)
    grid = C4.to_grid(state)
    assert t.done and t.reward == 0.0 and C4.winner(state) is None and (grid != 0).all()
    assert naive_winner(grid, 4) == 0 and C4.legal_action_ids(state) == ()
    assert C4.from_grid(grid) == state


def test_connect_four_illegal_steps_raise():
    _, full_col = play(C4, [2] * 6)
    with pytest.raises(ValueError, match="full"):
        C4.step(full_col, 2)
    for action in (-1, 7, 1.5):
        with pytest.raises(ValueError, match="column"):
            C4.step(full_col, action)
    assert C4.legal_action_ids(full_col) == (0, 1, 3, 4, 5, 6)


def test_connect_four_grid_round_trip_and_orientation():
    _, state = play(C4, [3, 3, 0])
    grid = C4.to_grid(state)
    assert grid.shape == (6, 7)
    assert grid[5, 3] == 1 and grid[4, 3] == 2 and grid[5, 0] == 1 and (grid != 0).sum() == 3
    assert C4.from_grid(grid) == state


@pytest.mark.parametrize(
    ("cells", "match"),
    [
        ({(4, 0): 1}, "floats"),
        ({(5, 0): 2}, "stones"),  # player 1 moved first
        ({(5, 0): 2, (4, 0): 1}, "order"),  # player 0 must have started on the bottom row
        ({(5, c): 1 for c in range(4)} | {(4, c): 2 for c in range(4)}, "both"),
        ({(5, c): 1 for c in range(4)} | {(4, c): 2 for c in range(3)} | {(5, 6): 2}, "did not move last"),
        ({(5, c): 1 for c in range(4)} | {(5, c): 1 for c in range(5, 7)}, "stones"),
    ],
)
def test_connect_four_from_grid_rejects_impossible_grids(cells, match):
    grid = np.zeros((6, 7), dtype=int)
    for (r, c), v in cells.items():
        grid[r, c] = v
    with pytest.raises(ValueError, match=match):
        C4.from_grid(grid)


def test_connect_four_from_grid_rejects_two_separate_fours():
    # Player 0: four on the bottom row and four on the third row, which no single last move completes.
    grid = np.zeros((6, 7), dtype=int)
    grid[5] = [1, 1, 1, 1, 2, 2, 2]
    grid[4] = [2, 2, 2, 1, 2, 1, 2]
    grid[3] = [2, 0, 0, 1, 1, 1, 1]
    assert (grid == 1).sum() == (grid == 2).sum() + 1
    with pytest.raises(ValueError, match="reachable"):
        C4.from_grid(grid)
    with pytest.raises(ValueError, match="shape"):
        C4.from_grid(np.zeros((7, 6), int))


def test_random_opponent_is_seeded_and_legal():
    ids = (0, 3, 5)
    picks = [random_opponent(None, ids, np.random.default_rng(7)) for _ in range(3)]
    assert len(set(picks)) == 1 and picks[0] in ids


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_uct_opponent_wins_and_blocks_at_tic_tac_toe(seed):
    uct = UCTOpponent(TTT, simulations=300)
    rng = np.random.default_rng(seed)
    # X to move with X on 0, 1 and O on 3, 4: X must take 2 (a win beats blocking 5).
    _, s = play(TTT, [0, 3, 1, 4])
    assert uct(s, TTT.legal_action_ids(s), rng) == 2
    # O to move, X threatens 0-4-8: O must block at 8.
    _, s = play(TTT, [0, 1, 4])
    assert uct(s, TTT.legal_action_ids(s), rng) == 8


def test_uct_opponent_takes_a_connect_four_win_and_is_deterministic():
    _, s = play(C4, [3, 0, 3, 0, 3, 1])
    picks = {UCTOpponent(C4, simulations=200)(s, C4.legal_action_ids(s), np.random.default_rng(5)) for _ in range(2)}
    assert picks == {3}


def test_make_opponent_validates():
    assert make_opponent("random", TTT) is random_opponent
    assert isinstance(make_opponent("mcts", C4, 10), UCTOpponent)
    with pytest.raises(ValueError, match="opponent"):
        make_opponent("alphazero", TTT)
    with pytest.raises(ValueError, match="opponent"):
        make_opponent(3, TTT)
    with pytest.raises(ValueError, match="simulations"):
        UCTOpponent(TTT, simulations=0)
