"""Programs of CLEVR's DSL: nodes, CLEVR's two JSON spellings, prefix tokens, validation."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from hybrid.symbolic.programs import (
    Node,
    Program,
    executable_functions,
    functions,
    signature,
    to_program,
    token_vocabulary,
    types,
    validate,
)

# A real CLEVR v1.0 program ("Are there more big green things than large purple shiny cubes?").
CLEVR_V1 = [
    {"inputs": [], "function": "scene", "value_inputs": []},
    {"inputs": [0], "function": "filter_size", "value_inputs": ["large"]},
    {"inputs": [1], "function": "filter_color", "value_inputs": ["green"]},
    {"inputs": [2], "function": "count", "value_inputs": []},
    {"inputs": [], "function": "scene", "value_inputs": []},
    {"inputs": [4], "function": "filter_size", "value_inputs": ["large"]},
    {"inputs": [5], "function": "filter_color", "value_inputs": ["purple"]},
    {"inputs": [6], "function": "filter_material", "value_inputs": ["metal"]},
    {"inputs": [7], "function": "filter_shape", "value_inputs": ["cube"]},
    {"inputs": [8], "function": "count", "value_inputs": []},
    {"inputs": [3, 9], "function": "greater_than", "value_inputs": []},
]

# The same program as CLEVR's generator writes it: "type", "side_inputs", absent when empty.
CLEVR_GENERATOR = [
    {"type": "scene", "inputs": []},
    {"type": "filter_size", "inputs": [0], "side_inputs": ["large"]},
    {"type": "filter_color", "inputs": [1], "side_inputs": ["green"]},
    {"type": "count", "inputs": [2]},
    {"type": "scene", "inputs": []},
    {"type": "filter_size", "inputs": [4], "side_inputs": ["large"]},
    {"type": "filter_color", "inputs": [5], "side_inputs": ["purple"]},
    {"type": "filter_material", "inputs": [6], "side_inputs": ["metal"]},
    {"type": "filter_shape", "inputs": [7], "side_inputs": ["cube"]},
    {"type": "count", "inputs": [8], "_output": 2},
    {"type": "greater_than", "inputs": [3, 9]},
]

CLEVR_V1_TOKENS = [
    "greater_than",
    "count",
    "filter_color[green]",
    "filter_size[large]",
    "scene",
    "count",
    "filter_shape[cube]",
    "filter_material[metal]",
    "filter_color[purple]",
    "filter_size[large]",
    "scene",
]

# Program shapes of CLEVR's template families, in prefix tokens.
SHAPES = {
    "zero_hop query": ["query_shape", "unique", "filter_color[red]", "filter_size[small]", "scene"],
    "one_hop count": ["count", "filter_shape[sphere]", "relate[left]", "unique", "filter_color[blue]", "scene"],
    "two_hop exist": [
        "exist",
        "filter_material[metal]",
        "relate[front]",
        "unique",
        "filter_shape[cylinder]",
        "relate[behind]",
        "unique",
        "filter_color[gray]",
        "scene",
    ],
    "same_relate": ["count", "filter_shape[cube]", "same_color", "unique", "filter_material[rubber]", "scene"],
    "single_or": ["count", "union", "filter_color[red]", "scene", "filter_shape[cube]", "scene"],
    "single_and": [
        "count",
        "intersect",
        "filter_color[red]",
        "relate[left]",
        "unique",
        "filter_shape[sphere]",
        "scene",
        "filter_size[large]",
        "relate[right]",
        "unique",
        "filter_color[cyan]",
        "scene",
    ],
    "compare_integer less": [
        "less_than",
        "count",
        "filter_color[red]",
        "scene",
        "count",
        "filter_color[blue]",
        "scene",
    ],
    "compare_integer equal": ["equal_integer", "count", "scene", "count", "filter_size[small]", "scene"],
    "comparison equal_color": [
        "equal_color",
        "query_color",
        "unique",
        "filter_shape[cube]",
        "scene",
        "query_color",
        "unique",
        "filter_shape[sphere]",
        "scene",
    ],
    "comparison equal_size": [
        "equal_size",
        "query_size",
        "unique",
        "filter_color[yellow]",
        "scene",
        "query_size",
        "unique",
        "filter_color[purple]",
        "scene",
    ],
    "equal_object": ["equal_object", "unique", "filter_color[red]", "scene", "unique", "filter_shape[cube]", "scene"],
    "same_shape exist": ["exist", "same_shape", "unique", "filter_material[metal]", "filter_size[large]", "scene"],
}

# The type -> function a random tree falls back on when it is deep enough (each shrinks toward scene).
FALLBACK = {
    "ObjectSet": "scene",
    "Object": "unique",
    "Integer": "count",
    "Bool": "exist",
    "Shape": "query_shape",
    "Color": "query_color",
    "Size": "query_size",
    "Material": "query_material",
}


def random_tree(rng: np.random.Generator, out_type: str, nodes: list[Node], depth: int = 0) -> tuple[int, list[str]]:
    """Draw a well-typed tree returning ``out_type``; append its nodes to ``nodes`` in CLEVR's
    post-order and return (its node index, its prefix tokens), built independently."""
    vocab = types()
    if depth >= 6:
        spec = signature(FALLBACK[out_type])
    else:
        names = [n for n in executable_functions() if functions()[n].output == out_type]
        spec = functions()[names[int(rng.integers(len(names)))]]
    values = tuple(str(rng.choice(vocab[t])) for t in spec.value_inputs)
    inputs, tokens = [], [spec.name + (f"[{','.join(values)}]" if values else "")]
    for t in spec.inputs:
        i, sub = random_tree(rng, t, nodes, depth + 1)
        inputs.append(i)
        tokens.extend(sub)
    nodes.append(Node(spec.name, tuple(inputs), values))
    return len(nodes) - 1, tokens


def random_program(rng: np.random.Generator) -> tuple[Program, list[str]]:
    nodes: list[Node] = []
    answer = ["Integer", "Bool", "Shape", "Color", "Size", "Material"][int(rng.integers(6))]
    _, tokens = random_tree(rng, answer, nodes)
    return Program(tuple(nodes)), tokens


# ---------------------------------------------------------------------------- nodes and programs
def test_node_stores_tuples_and_refuses_wrong_kinds():
    n = Node("filter_color", [3], ["red"])
    assert n.inputs == (3,) and n.value_inputs == ("red",)
    assert n.token() == "filter_color[red]" and Node("scene").token() == "scene"
    assert Node("count", [np.int64(2)]).inputs == (2,) and type(Node("count", [np.int64(2)]).inputs[0]) is int
    with pytest.raises(TypeError, match="value_inputs"):
        Node("filter_color", (0,), "red")
    with pytest.raises(TypeError, match="inputs"):
        Node("count", ("0",))
    with pytest.raises(TypeError, match="inputs"):
        Node("count", (True,))
    with pytest.raises(TypeError, match="function"):
        Node(3)


def test_program_is_an_immutable_hashable_value():
    a = Program.from_tokens(["count", "filter_color[red]", "scene"])
    b = Program((Node("scene"), Node("filter_color", (0,), ("red",)), Node("count", (1,))))
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert (
        len(a) == 3
        and a[1].function == "filter_color"
        and [n.function for n in a] == ["scene", "filter_color", "count"]
    )
    assert a != Program.from_tokens(["count", "filter_color[blue]", "scene"])
    with pytest.raises(AttributeError):
        a.nodes = ()
    copy = pickle.loads(pickle.dumps(a))
    assert copy == a and hash(copy) == hash(a)
    with pytest.raises(TypeError, match="nodes"):
        Program([{"function": "scene"}])


# ---------------------------------------------------------------------------- CLEVR JSON
def test_both_clevr_spellings_read_to_the_same_program():
    v1 = Program.from_clevr(CLEVR_V1)
    gen = Program.from_clevr(CLEVR_GENERATOR)
    assert v1 == gen
    assert v1[10] == Node("greater_than", (3, 9), ())
    assert v1[8] == Node("filter_shape", (7,), ("cube",))
    assert v1.to_clevr() == [
        {"function": n["function"], "inputs": n["inputs"], "value_inputs": n["value_inputs"]} for n in CLEVR_V1
    ]
    assert Program.from_clevr({"question": "?", "program": CLEVR_V1}) == v1
    assert Program.from_clevr({"nodes": CLEVR_GENERATOR}) == v1
    assert to_program(CLEVR_GENERATOR) == v1 and to_program(v1) is v1


def test_from_clevr_rejects_malformed_nodes():
    with pytest.raises(ValueError, match="function"):
        Program.from_clevr([{"inputs": []}])
    with pytest.raises(ValueError, match="inputs"):
        Program.from_clevr([{"function": "count", "inputs": ["0"]}])
    with pytest.raises(ValueError, match="value_inputs"):
        Program.from_clevr([{"function": "filter_color", "inputs": [0], "value_inputs": "red"}])
    with pytest.raises(TypeError, match="nodes"):
        Program.from_clevr("scene")
    with pytest.raises(TypeError, match="nodes"):
        Program.from_clevr([["scene"]])
    # Nodes read before are interned; a look-alike input (True == 1, 1.0 == 1) is still refused.
    Program.from_clevr([{"function": "scene", "inputs": []}, {"function": "count", "inputs": [0]}])
    for bad in (True, 0.0):
        with pytest.raises(ValueError, match="inputs"):
            Program.from_clevr([{"function": "scene", "inputs": []}, {"function": "count", "inputs": [bad]}])


def test_nodes_read_from_json_are_values_that_pickle():
    a = Program.from_clevr(CLEVR_V1)
    b = Program.from_clevr(json.loads(json.dumps(CLEVR_V1)))
    assert a == b and hash(a) == hash(b)
    node = a[1]
    copy = pickle.loads(pickle.dumps(node))
    assert copy == node and hash(copy) == hash(node) == hash(Node(node.function, node.inputs, node.value_inputs))


# ---------------------------------------------------------------------------- tokens
def test_tokens_are_the_prefix_answer_tree():
    p = Program.from_clevr(CLEVR_V1)
    assert p.to_tokens() == CLEVR_V1_TOKENS
    assert Program.from_tokens(CLEVR_V1_TOKENS) == p
    assert Program.from_tokens(["relate[left]", "unique", "scene"]).to_tokens() == ["relate[left]", "unique", "scene"]


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_token_round_trip_for_clevr_shapes(name):
    tokens = SHAPES[name]
    p = Program.from_tokens(tokens)
    assert validate(p) == []
    assert p.to_tokens() == tokens
    assert Program.from_clevr(p.to_clevr()) == p
    assert Program.from_tokens(p.to_tokens()) == p
    # CLEVR's layout: post-order, first input's subtree first, the answer last, one scene per leaf.
    assert all(j < i for i, n in enumerate(p) for j in n.inputs)
    assert sum(n.function == "scene" for n in p) == tokens.count("scene")


def test_two_branch_layout_is_clevrs_post_order():
    p = Program.from_tokens(SHAPES["comparison equal_color"])
    assert [n.function for n in p] == [
        "scene",
        "filter_shape",
        "unique",
        "query_color",
        "scene",
        "filter_shape",
        "unique",
        "query_color",
        "equal_color",
    ]
    assert p[-1].inputs == (3, 7)


def test_token_round_trip_for_random_well_typed_programs():
    rng = np.random.default_rng(7)
    seen = set()
    for _ in range(300):
        p, tokens = random_program(rng)
        seen.update(n.function for n in p)
        assert validate(p) == [], (tokens, validate(p))
        assert p.to_tokens() == tokens
        assert Program.from_tokens(tokens) == p
        assert Program.from_clevr(p.to_clevr()) == p
    assert seen == set(executable_functions())  # every function took part


def test_shared_scene_is_written_once_per_use_and_rebuilt_as_a_tree():
    shared = Program(
        (
            Node("scene"),
            Node("filter_color", (0,), ("red",)),
            Node("filter_shape", (0,), ("cube",)),
            Node("union", (1, 2)),
            Node("count", (3,)),
        )
    )
    tokens = shared.to_tokens()
    assert tokens == ["count", "union", "filter_color[red]", "scene", "filter_shape[cube]", "scene"]
    tree = Program.from_tokens(tokens)
    assert len(tree) == 6 and [n.function for n in tree].count("scene") == 2
    assert tree.to_tokens() == tokens


def test_to_tokens_drops_nodes_the_answer_does_not_use():
    p = Program((Node("scene"), Node("scene"), Node("count", (1,))))
    assert p.to_tokens() == ["count", "scene"]


def test_to_tokens_refuses_what_it_cannot_write():
    with pytest.raises(ValueError, match="empty"):
        Program(()).to_tokens()
    with pytest.raises(ValueError, match="earlier"):
        Program((Node("scene"), Node("count", (5,)))).to_tokens()
    with pytest.raises(ValueError, match="arity"):
        Program((Node("scene"), Node("count", (0, 0)))).to_tokens()
    with pytest.raises(ValueError, match="unknown"):
        Program((Node("scene"), Node("frobnicate", (0,)))).to_tokens()
    with pytest.raises(ValueError, match="token"):
        Program((Node("scene"), Node("filter_color", (0,), ("dark red",)), Node("count", (1,)))).to_tokens()


def test_from_tokens_rejects_bad_sequences():
    with pytest.raises(ValueError, match="empty"):
        Program.from_tokens([])
    with pytest.raises(ValueError, match="end before"):
        Program.from_tokens(["count", "filter_color[red]"])
    with pytest.raises(ValueError, match="left over"):
        Program.from_tokens(["count", "scene", "scene"])
    with pytest.raises(ValueError, match="unknown function"):
        Program.from_tokens(["count", "frobnicate", "scene"])
    with pytest.raises(ValueError, match="not a token"):
        Program.from_tokens(["count", "filter_color[red", "scene"])
    with pytest.raises(ValueError, match="empty value"):
        Program.from_tokens(["count", "filter_color[]", "scene"])
    with pytest.raises(TypeError, match="not a str"):
        Program.from_tokens("count scene")
    with pytest.raises(TypeError, match="tokens"):
        Program.from_tokens(["count", 3])


def test_token_vocabulary_covers_the_executable_dsl():
    vocab = token_vocabulary()
    assert len(vocab) == len(set(vocab))
    assert {
        "scene",
        "unique",
        "count",
        "equal_color",
        "filter_color[red]",
        "relate[left]",
        "filter_size[small]",
    } <= set(vocab)
    assert not any(t.startswith(("filter_unique", "relate_filter", "filter[")) for t in vocab)
    # 8 colours + 3 shapes + 2 sizes + 2 materials + 4 relations, and 22 functions without values.
    assert len(vocab) == 19 + 22


def test_to_program_refuses_things_that_are_no_program():
    with pytest.raises(TypeError, match="program"):
        to_program("count scene")
    with pytest.raises(TypeError, match="program"):
        to_program(42)
    with pytest.raises(TypeError, match="program"):
        to_program(["count", {"function": "scene"}])


# ---------------------------------------------------------------------------- validation
def nodes(*spec) -> Program:
    return Program(tuple(Node(f, tuple(i), tuple(v)) for f, i, v in spec))


def test_well_formed_programs_have_no_problems():
    assert validate(CLEVR_V1) == []
    assert validate(CLEVR_V1_TOKENS) == []
    assert validate(Program.from_clevr(CLEVR_GENERATOR)) == []


def test_metadata_signatures():
    assert signature("filter_color").value_inputs == ("Color",)
    assert signature("relate").value_inputs == ("Relation",) and signature("relate").inputs == ("Object",)
    assert signature("equal_object").inputs == ("Object", "Object")
    assert signature("filter_unique").template_only
    with pytest.raises(ValueError, match="name"):
        signature("frobnicate")


@pytest.mark.parametrize(
    "program, expected",
    [
        (nodes(("scene", [], []), ("unique", [0], []), ("count", [1], [])), ["node 2 (count): ill-typed input 0"]),
        (nodes(("scene", [], []), ("query_color", [0], [])), ["node 1 (query_color): ill-typed input 0"]),
        (
            nodes(("scene", [], []), ("filter_color", [0], ["cube"]), ("count", [1], [])),
            ["node 1 (filter_color): ill-typed value input 0: 'cube' is not a Color"],
        ),
        (
            nodes(("scene", [], []), ("filter_color", [0], []), ("count", [1], [])),
            ["node 1 (filter_color): wrong number of value inputs"],
        ),
        (
            nodes(("scene", [], []), ("unique", [0], []), ("relate", [1], ["above"]), ("count", [2], [])),
            ["node 2 (relate): ill-typed value input 0: 'above' is not a Relation"],
        ),
        (nodes(("scene", [], []), ("count", [4], [])), ["node 1 (count): dangling input 0: node 4"]),
        (nodes(("count", [0], [])), ["node 0 (count): dangling input 0: node 0"]),
        (nodes(("scene", [], []), ("count", [0, 0], [])), ["node 1 (count): wrong number of inputs"]),
        (nodes(("scene", [], []), ("equal_integer", [0], [])), ["node 1 (equal_integer): wrong number of inputs"]),
        (nodes(("scene", [], []), ("frobnicate", [0], []), ("count", [0], [])), ["unknown function 'frobnicate'"]),
        (
            nodes(("scene", [], []), ("filter_count", [0], ["large", "red", "metal", "cube"])),
            ["node 1 (filter_count): template-only"],
        ),
        (
            nodes(("scene", [], []), ("scene", [], []), ("count", [1], [])),
            ["node 0 (scene): output never used"],
        ),
        (nodes(("scene", [], []), ("filter_color", [0], ["red"])), ["the last node returns ObjectSet"]),
        (Program(()), ["empty"]),
        (["count", "filter_color[red]"], ["could not parse"]),
        ([{"inputs": [0]}], ["could not parse"]),
    ],
)
def test_validate_names_each_problem(program, expected):
    problems = validate(program)
    assert len(problems) >= len(expected)
    for fragment in expected:
        assert any(fragment in p for p in problems), (fragment, problems)


def test_ill_typed_message_names_both_types():
    (problem,) = validate(nodes(("scene", [], []), ("unique", [0], []), ("count", [1], [])))
    assert problem == "node 2 (count): ill-typed input 0: node 1 (unique) returns Object, expected ObjectSet"


def test_validate_refuses_things_that_are_no_program():
    with pytest.raises(TypeError):
        validate(3.5)


def test_output_type_is_the_root_functions_and_answer_type_reads_clevr_answers():
    from hybrid.symbolic.programs import answer_type, output_type

    assert output_type(["count", "filter_color[red]", "scene"]) == "Integer"
    assert output_type(["exist", "scene"]) == "Bool"
    assert output_type(["query_shape", "unique", "scene"]) == "Shape"
    assert output_type(["filter_color[red]", "scene"]) == "ObjectSet"
    assert output_type([]) is None and output_type(["bogus[1]"]) is None
    assert [answer_type(a) for a in ("yes", "no", "10", "cube", "cyan", "metal", "small")] == [
        "Bool", "Bool", "Integer", "Shape", "Color", "Material", "Size"]
    assert answer_type("True") is None and answer_type("left") is None
