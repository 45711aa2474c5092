"""CLEVR's question generator: its reference engine, template instantiation, text and answers.

The generated programs are checked against the independent executor of ``hybrid.symbolic.programs``
(tests mirror packages, so they may import both).
"""

from __future__ import annotations

import collections
import re

import numpy as np
import pytest
from hybrid.symbolic.programs import answer_text, executable_functions, execute, validate
from hybrid.tasks.clevr import (
    INVALID,
    QUESTION_TYPES,
    Question,
    QuestionGenerator,
    Scene,
    SceneObject,
    generate_dataset,
    generate_questions,
    generate_scenes,
    load_templates,
    question_type,
    read_questions,
    reference_answer,
    run_program,
    template_families,
    write_questions,
)

#   index  size   color  material shape
#   0      large  red    metal    cube      (x=-2)
#   1      small  blue   rubber   sphere    (x=-1)
#   2      large  red    rubber   cylinder  (x= 0)
#   3      small  green  metal    sphere    (x= 1)
OBJECTS = (
    SceneObject("cube", "red", "large", "metal", (-2.0, 0.0, 0.7)),
    SceneObject("sphere", "blue", "small", "rubber", (-1.0, 1.0, 0.35)),
    SceneObject("cylinder", "red", "large", "rubber", (0.0, -1.0, 0.7)),
    SceneObject("sphere", "green", "small", "metal", (1.0, 2.0, 0.35)),
)
# relationships[rel][i]: the objects in relation rel to object i (left: smaller x, behind: larger y)
HAND = Scene(
    objects=OBJECTS,
    relationships={
        "left": [[], [0], [0, 1], [0, 1, 2]],
        "right": [[1, 2, 3], [2, 3], [3], []],
        "behind": [[1, 3], [3], [0, 1, 3], []],
        "front": [[2], [0, 2], [], [0, 1, 2]],
    },
)


def node(function, inputs=(), values=()):
    return {"function": function, "inputs": list(inputs), "value_inputs": list(values)}


@pytest.fixture(scope="module")
def corpus():
    """Questions over many scenes and seeds, with their scenes by image index."""
    scenes = generate_scenes(45, np.random.default_rng(11))
    by_index = {s.image_index: s for s in scenes}
    questions = []
    for seed, chunk in enumerate((scenes[:15], scenes[15:30], scenes[30:])):
        gen = QuestionGenerator()
        rng = np.random.default_rng(100 + seed)
        for scene in chunk:
            questions.extend(gen.generate(scene, rng, n=10))
    return questions, by_index


# ------------------------------------------------------------------------------ engine


def test_engine_base_functions_on_a_known_scene():
    red_cube = [node("scene"), node("filter_color", [0], ["red"]), node("filter_shape", [1], ["cube"])]
    assert run_program(red_cube, HAND) == frozenset({0})
    unique = [*red_cube, node("unique", [2])]
    assert run_program(unique + [node("query_material", [3])], HAND) == "metal"
    right_of_cube = unique + [node("relate", [3], ["right"]), node("count", [4])]
    assert run_program(right_of_cube, HAND) == 3
    assert reference_answer(right_of_cube, HAND) == "3"
    same_size = unique + [node("same_size", [3]), node("count", [4])]
    assert run_program(same_size, HAND) == 1  # the large red cylinder, not the cube itself
    spheres = [node("scene"), node("filter_shape", [0], ["sphere"]), node("count", [1])]
    cubes = [node("scene"), node("filter_shape", [3], ["cube"]), node("count", [4])]
    compare = spheres + cubes + [node("greater_than", [2, 5])]
    assert reference_answer(compare, HAND) == "yes"
    assert reference_answer(spheres + cubes + [node("equal_integer", [2, 5])], HAND) == "no"
    union = [node("scene"), node("filter_color", [0], ["blue"]), node("scene"), node("filter_color", [2], ["green"])]
    assert run_program(union + [node("union", [1, 3])], HAND) == frozenset({1, 3})
    assert run_program(union + [node("intersect", [1, 3])], HAND) == frozenset()


def test_engine_invalid_and_its_propagation():
    red = [node("scene"), node("filter_color", [0], ["red"]), node("unique", [1])]
    assert run_program(red, HAND) is INVALID  # two red objects
    outs = run_program(red + [node("query_shape", [2])], HAND, all_outputs=True)
    assert outs[1] == frozenset({0, 2}) and outs[2] is INVALID and outs[3] is INVALID
    assert reference_answer(red + [node("query_shape", [2])], HAND) is None
    no_rel = Scene(objects=OBJECTS)
    cube = [node("scene"), node("filter_shape", [0], ["cube"]), node("unique", [1])]
    assert run_program(cube + [node("relate", [2], ["left"]), node("count", [3])], no_rel) is INVALID
    assert run_program([node("scene"), node("count", [0]), node("count", [1])], HAND) is INVALID  # ill-typed


def test_engine_template_level_functions_match_their_expansion():
    generator_style = [
        {"type": "scene", "inputs": []},
        {"type": "filter_unique", "inputs": [0], "side_inputs": ["", "blue", "", "sphere"]},
        {"type": "relate_filter_count", "inputs": [1], "side_inputs": ["right", "large", "", "", None]},
    ]
    expanded = [
        node("scene"),
        node("filter_color", [0], ["blue"]),
        node("filter_shape", [1], ["sphere"]),
        node("unique", [2]),
        node("relate", [3], ["right"]),
        node("filter_size", [4], ["large"]),
        node("count", [5]),
    ]
    assert run_program(generator_style, HAND) == run_program(expanded, HAND) == 1
    exist = [
        {"type": "scene", "inputs": []},
        {"type": "filter_exist", "inputs": [0], "side_inputs": ["small", "red", "", ""]},
    ]
    assert run_program(exist, HAND) is False
    or_filter = [
        {"type": "scene", "inputs": []},
        {"type": "filter", "inputs": [0], "side_inputs": ["large", "", "", ""]},
    ]
    assert run_program(or_filter, HAND) == frozenset({0, 2})


def test_engine_rejects_malformed_programs():
    with pytest.raises(ValueError, match="unknown function"):
        run_program([node("scene"), node("fly", [0])], HAND)
    with pytest.raises(ValueError, match="earlier nodes"):
        run_program([node("scene"), node("count", [1])], HAND)
    with pytest.raises(ValueError, match="value inputs"):
        run_program([node("scene"), node("filter_color", [0])], HAND)
    with pytest.raises(ValueError, match="empty"):
        run_program([], HAND)
    with pytest.raises(ValueError, match="answer"):
        reference_answer([node("scene"), node("filter_shape", [0], ["cube"]), node("unique", [1])], HAND)
    with pytest.raises(ValueError, match="scene"):
        run_program([node("scene")], {"objects": []})


# ------------------------------------------------------------------- generated programs


def test_same_seed_same_questions_other_seed_other_questions():
    scene = generate_scenes(1, np.random.default_rng(2))[0]
    a = generate_questions(scene, np.random.default_rng(5), n=8)
    b = generate_questions(scene, np.random.default_rng(5), n=8)
    c = generate_questions(scene, np.random.default_rng(6), n=8)
    assert len(a) == 8 and a == b
    assert [q.question for q in a] != [q.question for q in c]
    s1, q1 = generate_dataset(4, 3, np.random.default_rng(9))
    s2, q2 = generate_dataset(4, 3, np.random.default_rng(9))
    assert s1 == s2 and q1 == q2


def test_both_engines_give_the_stored_answer(corpus):
    questions, scenes = corpus
    assert len(questions) >= 400
    for q in questions:
        scene = scenes[q.image_index]
        assert isinstance(q.answer, str)
        assert reference_answer(q.program, scene) == q.answer, q.question
        assert answer_text(execute(q.program, scene)) == q.answer, q.question


def test_programs_are_valid_clevr_v1_base_programs(corpus):
    questions, _ = corpus
    base = set(executable_functions())
    for q in questions:
        assert validate(q.program) == []
        for n in q.program:
            assert set(n) == {"function", "inputs", "value_inputs"}
            assert n["function"] in base
        assert q.program[0]["function"] == "scene"


def test_every_unique_gets_exactly_one_object_and_no_filter_is_idle(corpus):
    questions, scenes = corpus
    n_unique = 0
    for q in questions:
        result = execute(q.program, scenes[q.image_index], trace=True)
        assert result.valid
        for k, n in enumerate(q.program):
            src = n["inputs"][0] if n["inputs"] else None
            if n["function"] == "unique":
                n_unique += 1
                assert len(result.trace[src]) == 1, q.question
            if n["function"].startswith("filter_") and result.trace[src]:
                assert result.trace[k] != result.trace[src], f"idle filter in {q.question!r}"
    assert n_unique > 300


def test_descriptions_of_one_object_need_every_word(corpus):
    questions, scenes = corpus
    for q in questions[:200]:
        scene = scenes[q.image_index]
        for k, n in enumerate(q.program):
            if n["function"] != "unique":
                continue
            chain, j = [], k - 1  # the filters feeding this unique, back to their source
            while q.program[j]["function"].startswith("filter_"):
                chain.append(j)
                j -= 1
            for drop in chain:  # without any one word, the description is no longer unique
                nodes = [node(q.program[i]["function"], [0], q.program[i]["value_inputs"]) for i in chain if i != drop]
                rebuilt = list(q.program[: j + 1]) + [dict(x, inputs=[j + t]) for t, x in enumerate(nodes)]
                assert len(run_program(rebuilt, scene)) > 1, q.question


def test_question_type_follows_the_last_function(corpus):
    questions, _ = corpus
    kinds = collections.Counter(question_type(q) for q in questions)
    assert set(kinds) == set(QUESTION_TYPES)
    for q in questions:
        last = q.program[-1]["function"]
        expected = {"count": "count", "exist": "exist", "equal_integer": "compare_integer"}.get(last)
        if last.startswith("query_"):
            expected = "query_attribute"
        elif last in ("less_than", "greater_than"):
            expected = "compare_integer"
        elif last.startswith("equal_") and last != "equal_integer":
            expected = "compare_attribute"
        assert question_type(q.program) == expected
    assert question_type([{"type": "scene"}, {"type": "filter_count", "inputs": [0]}]) == "count"
    with pytest.raises(ValueError):
        question_type([node("scene")])
    with pytest.raises(ValueError):
        question_type([])


# --------------------------------------------------------------------------------- text


def test_text_is_filled_and_matches_the_program(corpus):
    questions, _ = corpus
    synonyms = {"sphere": ("sphere", "ball"), "cube": ("cube", "block"), "large": ("large", "big")}
    synonyms |= {"small": ("small", "tiny"), "metal": ("metallic", "metal", "shiny"), "rubber": ("rubber", "matte")}
    for q in questions:
        text = q.question
        assert not re.search(r"[<>\[\]]|\s\s", text), text
        assert text.endswith("?") and text[0].isupper()
        words = set(re.findall(r"[a-z]+", text.lower()))
        for n in q.program:
            if n["function"].startswith("filter_"):
                (value,) = n["value_inputs"]
                forms = synonyms.get(value, (value,))
                assert any(f in words or f + "s" in words for f in forms), (value, text)
    texts = " ".join(q.question for q in questions)
    for word in ("things", "objects", "balls", "blocks", "thing", "left of", "in front of"):
        assert word in texts  # empty shapes, plurals and synonyms all occur


def test_other_is_dropped_when_descriptions_already_differ():
    gen = QuestionGenerator(templates=[("same_relate", 12)])  # "How many other <Z2>..<S2>s have the same size..."
    scenes = generate_scenes(40, np.random.default_rng(3))
    rng = np.random.default_rng(4)
    seen = 0
    for scene in scenes:
        for q in gen.generate(scene, rng, n=1):
            shapes = [n["value_inputs"][0] for n in q.program if n["function"] == "filter_shape"]
            colours = [n["value_inputs"][0] for n in q.program if n["function"] == "filter_color"]
            clash = len(set(shapes)) == 2 or len(set(colours)) == 2
            if clash and len(shapes) + len(colours) >= 2:
                seen += 1
                assert " other " not in q.question, q.question
    assert seen > 0


# ------------------------------------------------------------------------- constraints


def test_null_and_out_neq_constraints_hold():
    # comparison.json 1: "Is the <Z> <C> <M> <S> the same color as the <Z2> <C2> <M2> <S2>?",
    # NULL <C>, NULL <C2>, OUT_NEQ between the two objects
    template = load_templates([("comparison", 1)])[("comparison.json", 1)]
    assert {"type": "NULL", "params": ["<C>"]} in template["constraints"]
    gen = QuestionGenerator(templates=[("comparison", 1)])
    scenes = generate_scenes(40, np.random.default_rng(8))
    rng = np.random.default_rng(9)
    got = 0
    for scene in scenes:
        for q in gen.generate(scene, rng, n=1):
            got += 1
            assert all(n["function"] != "filter_color" for n in q.program)  # the colours are not given away
            uniques = [k for k, n in enumerate(q.program) if n["function"] == "unique"]
            trace = execute(q.program, scene, trace=True).trace
            assert len(uniques) == 2 and trace[uniques[0]] != trace[uniques[1]]
    assert got >= 20


def test_neq_constraint_holds_on_a_template_of_ones_own():
    template = {
        "text": ["Are there as many <C> things as <C2> things?"],
        "nodes": [
            {"type": "scene", "inputs": []},
            {"type": "filter_count", "inputs": [0], "side_inputs": ["<Z>", "<C>", "<M>", "<S>"]},
            {"type": "scene", "inputs": []},
            {"type": "filter_count", "inputs": [2], "side_inputs": ["<Z2>", "<C2>", "<M2>", "<S2>"]},
            {"type": "equal_integer", "inputs": [1, 3]},
        ],
        "params": [
            {"type": t, "name": f"<{c}{s}>"}
            for s in ("", "2")
            for t, c in zip(("Size", "Color", "Material", "Shape"), "ZCMS", strict=True)
        ],
        "constraints": [{"type": "NULL", "params": [p]} for p in ("<Z>", "<M>", "<S>", "<Z2>", "<M2>", "<S2>")]
        + [{"type": "NEQ", "params": ["<C>", "<C2>"]}],
    }
    gen = QuestionGenerator(templates=[template])
    assert gen.template_keys == (("custom", 0),)
    rng = np.random.default_rng(1)
    got = 0
    for scene in generate_scenes(30, np.random.default_rng(2)):
        for q in gen.generate(scene, rng, n=1):
            got += 1
            colours = [n["value_inputs"][0] for n in q.program if n["function"] == "filter_color"]
            assert len(colours) == len(set(colours)) and q.template_filename == "custom"
            assert {n["function"] for n in q.program} <= {"scene", "filter_color", "count", "equal_integer"}
    assert got >= 20


def test_answers_of_a_yes_no_template_are_balanced():
    gen = QuestionGenerator(templates=[("same_relate", 0)])  # "other things of the same size?": mostly yes
    rng = np.random.default_rng(0)
    answers = collections.Counter()
    for scene in generate_scenes(150, np.random.default_rng(1)):
        answers.update(q.answer for q in gen.generate(scene, rng, n=1))
    assert set(answers) == {"yes", "no"}
    assert max(answers.values()) <= 1.15 * min(answers.values()) + 1
    assert gen.answer_counts(("same_relate.json", 0)) == dict(answers)
    assert gen.failures[("same_relate.json", 0)] > 0  # balancing turned some scenes down


def test_relation_words_are_not_idle_in_single_and(corpus):
    questions, scenes = corpus
    checked = 0
    for q in questions:
        if q.template_filename != "single_and.json":
            continue
        scene = scenes[q.image_index]
        for k, n in enumerate(q.program):
            if n["function"] == "relate":  # with the whole scene instead, the answer changes
                replaced = [node("scene") if i == k else m for i, m in enumerate(q.program)]
                assert reference_answer(replaced, scene) != q.answer
                checked += 1
    assert checked > 0


# --------------------------------------------------------------------- coverage and API


def test_every_family_gives_questions():
    scenes, questions = generate_dataset(30, 10, np.random.default_rng(21))
    assert len(scenes) == 30 and 250 <= len(questions) <= 300
    families = collections.Counter(q.template_filename[: -len(".json")] for q in questions)
    assert set(families) == set(template_families()) and len(families) == 9
    assert [q.question_index for q in questions] == list(range(len(questions)))
    names = {s.image_index: s.image_filename for s in scenes}
    for q in questions:
        assert q.image_filename == names[q.image_index] and q.split == "new"
        assert 0 <= q.question_family_index < len(load_templates(q.template_filename))


def test_questions_of_one_scene_come_from_different_templates():
    scene = generate_scenes(1, np.random.default_rng(6))[0]
    questions = generate_questions(scene, np.random.default_rng(7), n=20)
    keys = [(q.template_filename, q.question_family_index) for q in questions]
    assert len(questions) == 20 and len(set(keys)) == 20
    only = generate_questions(scene, np.random.default_rng(7), n=5, templates=["zero_hop"])
    assert {q.template_filename for q in only} == {"zero_hop.json"}


def test_round_trip_through_clevr_files(tmp_path, corpus):
    questions, _ = corpus
    path = tmp_path / "CLEVR_new_questions.json"
    write_questions(path, questions[:50])
    back = read_questions(path)
    assert back == list(questions[:50])
    assert all(isinstance(q, Question) and isinstance(q.answer, str) for q in back)


def test_load_templates_selects_families_and_single_templates():
    assert len(load_templates()) == 90
    assert len(load_templates("zero_hop")) == len(load_templates(["zero_hop.json"])) == 6
    assert list(load_templates([("one_hop", 2), "zero_hop"]))[0] == ("one_hop.json", 2)
    with pytest.raises(ValueError, match="family"):
        load_templates(["four_hop"])
    with pytest.raises(ValueError, match="unknown template"):
        load_templates([("zero_hop.json", 99)])
    with pytest.raises(ValueError):
        load_templates([])


def test_bad_inputs_raise_value_error():
    scene = generate_scenes(1, np.random.default_rng(0))[0]
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="rng"):
        generate_questions(scene, 42)
    with pytest.raises(ValueError, match="n must"):
        generate_questions(scene, rng, n=-1)
    with pytest.raises(ValueError, match="max_tries"):
        generate_questions(scene, rng, max_tries=0)
    with pytest.raises(ValueError, match="scene"):
        generate_questions("scene", rng)
    with pytest.raises(ValueError, match="at least one object"):
        generate_questions(Scene(objects=()), rng)
    with pytest.raises(ValueError, match="family"):
        generate_questions(scene, rng, templates=["nope"])
    with pytest.raises(ValueError, match="n_scenes"):
        generate_dataset(-1, 3, rng)
    with pytest.raises(ValueError, match="balance_ratio"):
        QuestionGenerator(balance_ratio=0.5)
    with pytest.raises(ValueError, match="synonyms"):
        QuestionGenerator(synonyms={"sphere": "ball"})
    with pytest.raises(ValueError, match="malformed"):
        QuestionGenerator(templates=[{"text": ["?"], "nodes": [{"type": "teleport", "inputs": []}], "params": []}])
    with pytest.raises(ValueError, match="template"):
        QuestionGenerator().instantiate(scene, ("zero_hop.json", 42), rng)
