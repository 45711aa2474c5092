"""Typed decoding: the question parser writes only well-typed, complete programs."""

from __future__ import annotations

import numpy as np
import pytest
from hybrid.neural.vqa.grammar import GrammarTables, TypeGrammar
from hybrid.neural.vqa.question_parser import QuestionParser
from hybrid.symbolic.programs import Program, validate

from hybrid.vqa.data import make_vqa_data
from hybrid.vqa.nsvqa import clevr_grammar, program_tokens

TOY = TypeGrammar({"count": ("Int", ("Set",)), "union": ("Set", ("Set", "Set")), "scene": ("Set", ()),
                   "unique": ("Obj", ("Set",)), "relate": ("Set", ("Obj",))}, roots=("Int",))


def test_tables_follow_a_stack_of_expected_types():
    itos = ["<PAD>", "<END>", "count", "union", "scene", "unique", "relate", "mystery"]
    t = GrammarTables(TOY, itos, end_id=1, function_of=lambda s: s)
    allowed = lambda state: {itos[j] for j in np.nonzero(t.mask([state])[0].numpy())[0]}  # noqa: E731
    state = t.start()
    assert allowed(state) == {"count"}  # the root: an Int
    state = t.step(state, itos.index("count"))
    assert allowed(state) == {"union", "scene", "relate"}  # a Set
    state = t.step(state, itos.index("union"))
    state = t.step(state, itos.index("relate"))
    assert allowed(state) == {"unique"}  # relate takes an object
    for token in ("unique", "scene"):
        state = t.step(state, itos.index(token))
    assert allowed(state) == {"union", "scene", "relate"}  # the union's second branch
    state = t.step(state, itos.index("scene"))
    assert state == [] and allowed(state) == {"<END>"}  # complete: only the end marker
    # the length bound leaves out what could not be completed in time, unless nothing else fits:
    # after `count union`, two Sets are open; with room for 3 more tokens (END included),
    # `scene` (then `scene`, END) fits, `relate` (then `unique scene scene`, END) does not
    deep = t.step(t.step(t.start(), itos.index("count")), itos.index("union"))
    assert t.mask([deep], room=3)[0, itos.index("scene")]
    assert not t.mask([deep], room=3)[0, itos.index("relate")] and t.mask([deep], room=5)[0, itos.index("relate")]
    assert t.need[t.type_id["Obj"]] == 2 and t.need[t.type_id["Int"]] == 2
    # teacher forcing: the masks before each target token
    rows = [[itos.index(w) for w in ("count", "scene", "<END>")]]
    replayed = t.replay(rows, 4)
    assert [set(np.nonzero(replayed[0, k].numpy())[0]) for k in range(4)] == [
        {2}, {3, 4, 6}, {1}, {1}]


def test_grammar_round_trips_and_refuses_malformed_signatures():
    assert TypeGrammar.from_dict(TOY.to_dict()) == TOY
    with pytest.raises(ValueError, match="roots"):
        TypeGrammar({"scene": ("Set", ())}, roots=())
    with pytest.raises(ValueError, match="output type, input types"):
        TypeGrammar({"scene": ("Set",)}, roots=("Set",))


@pytest.fixture(scope="module")
def few():
    data = make_vqa_data(40, 5, np.random.default_rng(5))
    return data.texts(), [program_tokens(q) for q in data.questions]


@pytest.mark.parametrize("beam", [1, 3])
def test_an_untrained_parser_with_clevrs_grammar_writes_only_valid_programs(few, beam):
    texts, programs = few
    kwargs = {"embed_dim": 8, "hidden_dim": 16, "epochs": 1, "batch_size": 32, "seed": 0}
    typed = QuestionParser(**kwargs, grammar=clevr_grammar()).fit(texts[:20], programs[:20])
    plain = QuestionParser(**kwargs).fit(texts[:20], programs[:20])

    def valid(tokens):
        try:
            return validate(Program.from_tokens(tokens)) is None or True
        except ValueError:
            return False

    parsed = typed.parse(texts, beam_size=beam)
    assert all(valid(p) for p in parsed)
    # without the grammar, one epoch leaves most programs malformed: the test can fail
    assert sum(not valid(p) for p in plain.parse(texts, beam_size=beam)) > len(texts) // 2


def test_typed_parser_survives_save_and_load(few, tmp_path):
    texts, programs = few
    parser = QuestionParser(embed_dim=16, hidden_dim=32, epochs=3, batch_size=16, seed=0,
                            grammar=clevr_grammar()).fit(texts, programs)
    parser.save(tmp_path / "qp.pt")
    again = QuestionParser.load(tmp_path / "qp.pt")
    assert again.grammar == parser.grammar
    assert again.parse(texts, beam_size=3) == parser.parse(texts, beam_size=3)
