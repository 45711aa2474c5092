"""OpenSpiel's MCTSBot as a peer of our MCTS (skipped where OpenSpiel is not installed)."""

from __future__ import annotations

import pytest

pytest.importorskip("pyspiel")
pytest.importorskip("open_spiel.python.algorithms.mcts")

from hybrid.planning.openspiel_peer import (  # noqa: E402
    MatchResult,
    SpeedRow,
    make_openspiel_bot,
    openspiel_sims_per_second,
    ours_sims_per_second,
    play_match,
    positions_for,
    side_by_side,
)


@pytest.mark.parametrize("game, moves", [("tic_tac_toe", [4, 0, 8]), ("connect_four", [3, 3, 2, 6, 6])])
def test_positions_agree_between_our_model_and_openspiel(game, moves):
    ours, theirs = positions_for(game, moves)
    from hybrid.planning.openspiel_peer import GAMES

    model = GAMES[game]()
    assert model.legal_action_ids(ours) == tuple(theirs.legal_actions())
    assert model.current_player(ours) == theirs.current_player()


def test_bad_positions_and_arguments_are_rejected():
    with pytest.raises(ValueError, match="illegal"):
        positions_for("tic_tac_toe", [4, 4])
    with pytest.raises(ValueError, match="game_name"):
        positions_for("chess", [])
    with pytest.raises(ValueError, match="num_simulations"):
        make_openspiel_bot("tic_tac_toe", 0)
    with pytest.raises(ValueError, match="repeats"):
        side_by_side(repeats=0)


def test_both_searches_report_positive_rates():
    assert openspiel_sims_per_second("tic_tac_toe", 50, [4]) > 0
    assert ours_sims_per_second("connect_four", 50, [3]) > 0


def test_side_by_side_times_the_same_positions():
    rows = side_by_side(games=("tic_tac_toe",), num_simulations=40, repeats=2, pin_one_core=False)
    assert [r.moves for r in rows] == [(), (4, 0)]
    for r in rows:
        assert isinstance(r, SpeedRow)
        assert r.ours > 0 and r.openspiel > 0 and r.ratio == pytest.approx(r.ours / r.openspiel)
        assert r.ours_best >= r.ours and r.openspiel_best >= r.openspiel


def test_a_short_match_counts_every_game():
    m = play_match("tic_tac_toe", num_games=2, num_simulations=30, seed=1)
    assert isinstance(m, MatchResult)
    assert m.wins + m.draws + m.losses == 2
    assert 0.0 <= m.score <= 1.0
