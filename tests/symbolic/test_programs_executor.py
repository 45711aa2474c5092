"""The executor on hand-built scenes whose answers are known, and against a plain reference."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from hybrid.symbolic.programs import (
    CompiledScene,
    Node,
    Program,
    Result,
    answer_text,
    compile_scene,
    executable_functions,
    execute,
    functions,
    signature,
    types,
)
from hybrid.tasks.clevr import Scene, SceneObject

#   index  size   color  material shape     x   y
#   0      large  red    metal    cube     -2   0
#   1      small  blue   rubber   sphere   -1   1
#   2      large  red    rubber   cylinder  0  -1
#   3      small  green  metal    sphere    1   2
#   4      large  blue   metal    cube      2  -2
OBJECTS = (
    SceneObject("cube", "red", "large", "metal", (-2.0, 0.0, 0.7)),
    SceneObject("sphere", "blue", "small", "rubber", (-1.0, 1.0, 0.35)),
    SceneObject("cylinder", "red", "large", "rubber", (0.0, -1.0, 0.7)),
    SceneObject("sphere", "green", "small", "metal", (1.0, 2.0, 0.35)),
    SceneObject("cube", "blue", "large", "metal", (2.0, -2.0, 0.7)),
)
# CLEVR's convention: RELATIONSHIPS["left"][i] lists the objects left of object i (smaller x);
# "behind" the objects with larger y, "front" those with smaller y.
RELATIONSHIPS = {
    "left": [[], [0], [0, 1], [0, 1, 2], [0, 1, 2, 3]],
    "right": [[1, 2, 3, 4], [2, 3, 4], [3, 4], [4], []],
    "behind": [[1, 3], [3], [0, 1, 3], [], [0, 1, 2, 3]],
    "front": [[2, 4], [0, 2, 4], [4], [0, 1, 2, 4], []],
}


@pytest.fixture(scope="module")
def scene() -> Scene:
    return Scene(OBJECTS, RELATIONSHIPS)


def run(tokens: str, scene: Scene, **kw) -> Result:
    return execute(tokens.split(), scene, **kw)


# ---------------------------------------------------------------------------- answers
@pytest.mark.parametrize(
    "tokens, answer",
    [
        ("count scene", 5),
        ("count filter_color[red] scene", 2),
        ("count filter_size[large] scene", 3),
        ("count filter_shape[cube] filter_material[metal] scene", 2),
        ("count filter_color[purple] scene", 0),
        ("exist filter_color[green] scene", True),
        ("exist filter_color[purple] scene", False),
        ("query_shape unique filter_color[green] scene", "sphere"),
        ("query_material unique filter_shape[cylinder] scene", "rubber"),
        ("query_size unique filter_color[red] filter_shape[cube] scene", "large"),
        # relate: the objects left of the green sphere (object 3) are 0, 1, 2.
        ("count relate[left] unique filter_color[green] scene", 3),
        ("count relate[right] unique filter_color[green] scene", 1),
        ("query_color unique relate[right] unique filter_color[green] scene", "blue"),
        # right of the blue sphere (1): 2, 3, 4; the cylinder among them is red.
        (
            "query_color unique filter_shape[cylinder] relate[right] "
            "unique filter_shape[sphere] filter_color[blue] scene",
            "red",
        ),
        ("count relate[behind] unique filter_shape[cylinder] scene", 3),
        ("count filter_size[small] relate[front] unique filter_color[green] scene", 1),
        # two hops: behind the cylinder are 0, 1, 3; the small metal one is 3; left of 3: 0, 1, 2.
        (
            "count relate[left] unique filter_material[metal] filter_size[small] relate[behind] "
            "unique filter_shape[cylinder] scene",
            3,
        ),
        # same_<attr> excludes the object itself.
        ("count same_color unique filter_shape[cylinder] scene", 1),
        ("query_shape unique same_color unique filter_shape[cylinder] scene", "cube"),
        ("exist same_color unique filter_color[green] scene", False),
        ("count same_size unique filter_color[green] scene", 1),
        ("count same_material unique filter_color[green] scene", 2),
        ("count same_shape unique filter_shape[cylinder] scene", 0),
        # union / intersect
        ("count union filter_color[red] scene filter_color[blue] scene", 4),
        ("count union filter_color[red] scene filter_size[large] scene", 3),
        ("count intersect filter_color[red] scene filter_material[metal] scene", 1),
        ("count intersect filter_color[red] scene filter_color[blue] scene", 0),
        # comparisons of counts
        ("equal_integer count filter_color[red] scene count filter_color[blue] scene", True),
        ("less_than count filter_color[red] scene count filter_color[blue] scene", False),
        ("greater_than count filter_color[red] scene count filter_color[blue] scene", False),
        ("greater_than count filter_size[large] scene count filter_size[small] scene", True),
        ("less_than count filter_color[green] scene count filter_color[red] scene", True),
        # comparisons of attributes
        (
            "equal_color query_color unique filter_shape[cylinder] scene "
            "query_color unique filter_material[metal] filter_color[red] scene",
            True,
        ),
        (
            "equal_shape query_shape unique filter_color[green] scene query_shape unique filter_shape[cylinder] scene",
            False,
        ),
        (
            "equal_size query_size unique filter_color[green] scene "
            "query_size unique filter_shape[sphere] filter_color[blue] scene",
            True,
        ),
        (
            "equal_material query_material unique filter_color[green] scene "
            "query_material unique filter_shape[cylinder] scene",
            False,
        ),
        ("equal_object unique filter_color[green] scene unique filter_material[metal] filter_size[small] scene", True),
        ("equal_object unique filter_color[green] scene unique filter_shape[cylinder] scene", False),
    ],
)
def test_answers_on_a_known_scene(scene, tokens, answer):
    r = run(tokens, scene)
    assert r.valid and r.error is None, r.error
    assert r.answer == answer and type(r.answer) is type(answer)


def test_relate_follows_clevrs_direction_convention(scene):
    # relationships["left"][4] lists the objects left of object 4: every other object.
    r = run("relate[left] unique filter_color[blue] filter_shape[cube] scene", scene, trace=True)
    assert not r.valid  # the last node is an ObjectSet: no answer
    r = run("count relate[left] unique filter_color[blue] filter_shape[cube] scene", scene, trace=True)
    assert r.answer == 4 and r.trace[-2] == (0, 1, 2, 3)


def test_answer_text_writes_answers_as_clevr_does(scene):
    assert answer_text(run("exist filter_color[green] scene", scene)) == "yes"
    assert answer_text(run("exist filter_color[purple] scene", scene)) == "no"
    assert answer_text(run("count filter_color[red] scene", scene)) == "2"
    assert answer_text(run("count filter_color[purple] scene", scene)) == "0"
    assert answer_text(run("query_color unique filter_shape[cylinder] scene", scene)) == "red"
    assert answer_text(run("query_color unique filter_shape[cube] scene", scene)) is None
    assert answer_text(False) == "no" and answer_text(0) == "0" and answer_text("cube") == "cube"
    with pytest.raises(TypeError, match="result"):
        answer_text(1.5)


# ---------------------------------------------------------------------------- invalid results
def test_unique_of_two_objects_is_invalid_for_the_scene(scene):
    r = run("query_shape unique filter_color[red] scene", scene)
    assert not r.valid and r.answer is None
    assert r.error == "node 2 (unique): unique needs exactly one object, got 2"


def test_unique_of_no_object_is_invalid_for_the_scene(scene):
    r = run("count relate[left] unique filter_color[purple] scene", scene)
    assert not r.valid and r.answer is None
    assert r.error.startswith("node 2 (unique)") and "got 0" in r.error


@pytest.mark.parametrize(
    "program, fragment",
    [
        (["count", "unique", "scene"], "node 2 (count): ill-typed input 0"),
        (["query_color", "filter_color[red]", "scene"], "node 2 (query_color): ill-typed input 0"),
        (
            ["count", "filter_color[cube]", "scene"],
            "node 1 (filter_color): ill-typed value input 0: 'cube' is not a Color",
        ),
        (["count", "relate[above]", "unique", "scene"], "node 2 (relate): ill-typed value input 0"),
        (Program((Node("scene"), Node("count", (3,)))), "node 1 (count): dangling input 0"),
        ([{"function": "scene", "inputs": []}, {"function": "count", "inputs": [7]}], "dangling input"),
        (Program((Node("scene"), Node("frobnicate", (0,)))), "unknown function 'frobnicate'"),
        (["count", "filter_color[red]"], "could not parse the tokens"),
        (["count", "frobnicate", "scene"], "could not parse the tokens"),
        ([{"inputs": []}], "could not parse the program"),
        (Program(()), "the program is empty"),
    ],
)
def test_bad_programs_give_invalid_results_not_exceptions(scene, program, fragment):
    r = execute(program, scene, trace=True)
    assert not r.valid and r.answer is None
    assert r.error.startswith("invalid program: ")
    assert fragment in r.error, r.error
    assert r.trace == () and r.steps == 0


def test_relation_missing_from_the_scene_is_invalid(scene):
    left_only = Scene(OBJECTS, {"left": RELATIONSHIPS["left"]})
    assert run("count relate[left] unique filter_color[green] scene", left_only).answer == 3
    r = run("count relate[front] unique filter_color[green] scene", left_only)
    assert not r.valid and r.error.startswith("node 3 (relate): the scene has no relation 'front'")


def test_wrong_kinds_of_argument_raise_type_error(scene):
    with pytest.raises(TypeError, match="program"):
        execute(42, scene)
    with pytest.raises(TypeError, match="program"):
        execute("count scene", scene)
    with pytest.raises(TypeError, match="program"):
        execute([1, 2], scene)
    with pytest.raises(TypeError, match="scene"):
        execute(["count", "scene"], {"objects": []})


# ---------------------------------------------------------------------------- traces
def test_trace_holds_every_node_output(scene):
    r = run("count relate[left] unique filter_color[green] scene", scene, trace=True)
    # Post-order nodes: scene, filter_color, unique, relate, count.
    assert r.trace == ((0, 1, 2, 3, 4), (3,), 3, (0, 1, 2), 3)
    assert r.steps == 5
    assert run("count relate[left] unique filter_color[green] scene", scene).trace is None


def test_trace_of_a_failed_run_stops_before_the_failing_node(scene):
    r = run("count relate[left] unique filter_color[red] scene", scene, trace=True)
    assert r.trace == ((0, 1, 2, 3, 4), (0, 2))
    assert r.steps == 3 and r.error.startswith("node 2 (unique)")


def test_trace_of_a_two_branch_program(scene):
    r = run("equal_integer count filter_color[red] scene count filter_size[small] scene", scene, trace=True)
    assert r.trace == ((0, 1, 2, 3, 4), (0, 2), 2, (0, 1, 2, 3, 4), (1, 3), 2, True)


# ---------------------------------------------------------------------------- program forms
CLEVR_V1 = [
    {"inputs": [], "function": "scene", "value_inputs": []},
    {"inputs": [0], "function": "filter_color", "value_inputs": ["green"]},
    {"inputs": [1], "function": "unique", "value_inputs": []},
    {"inputs": [2], "function": "relate", "value_inputs": ["left"]},
    {"inputs": [3], "function": "filter_size", "value_inputs": ["large"]},
    {"inputs": [4], "function": "count", "value_inputs": []},
    {"inputs": [], "function": "scene", "value_inputs": []},
    {"inputs": [6], "function": "filter_shape", "value_inputs": ["sphere"]},
    {"inputs": [7], "function": "count", "value_inputs": []},
    {"inputs": [5, 8], "function": "greater_than", "value_inputs": []},
]
CLEVR_GENERATOR = [
    {"type": "scene", "inputs": []},
    {"type": "filter_color", "inputs": [0], "side_inputs": ["green"]},
    {"type": "unique", "inputs": [1]},
    {"type": "relate", "inputs": [2], "side_inputs": ["left"]},
    {"type": "filter_size", "inputs": [3], "side_inputs": ["large"]},
    {"type": "count", "inputs": [4]},
    {"type": "scene", "inputs": []},
    {"type": "filter_shape", "inputs": [6], "side_inputs": ["sphere"]},
    {"type": "count", "inputs": [7]},
    {"type": "greater_than", "inputs": [5, 8]},
]


def test_clevr_spellings_and_tokens_give_the_same_answer(scene):
    # Left of the green sphere: 0, 1, 2, of which 0 and 2 are large; spheres: 1 and 3. 2 > 2 is False.
    results = [
        execute(CLEVR_V1, scene),
        execute(CLEVR_GENERATOR, scene),
        execute({"program": CLEVR_V1, "answer": "no"}, scene),
        execute(Program.from_clevr(CLEVR_V1), scene),
        execute(Program.from_clevr(CLEVR_GENERATOR).to_tokens(), scene),
        execute(tuple(Program.from_clevr(CLEVR_V1).to_tokens()), scene),
    ]
    assert all(r.valid and r.answer is False for r in results)
    assert answer_text(results[0]) == "no"
    flipped = [dict(n, function="less_than") if n["function"] == "greater_than" else n for n in CLEVR_V1]
    assert execute(flipped, scene).answer is False
    equal = [dict(n, function="equal_integer") if n["function"] == "greater_than" else n for n in CLEVR_V1]
    assert execute(equal, scene).answer is True


def test_shared_scene_dag_runs_like_its_tree(scene):
    dag = Program(
        (
            Node("scene"),
            Node("filter_color", (0,), ("red",)),
            Node("filter_shape", (0,), ("cube",)),
            Node("union", (1, 2)),
            Node("count", (3,)),
        )
    )
    tree = Program.from_tokens(dag.to_tokens())
    assert execute(dag, scene).answer == execute(tree, scene).answer == 3


def test_execute_accepts_a_compiled_scene(scene):
    compiled = compile_scene(scene)
    assert isinstance(compiled, CompiledScene) and compile_scene(scene) is compiled
    assert compiled.n_objects == 5 and compiled.all_objects == 0b11111
    assert compiled.masks["color"]["red"] == 0b00101
    assert compiled.relations["left"][2] == 0b00011
    assert compiled.same["color"][0] == 0b00100
    assert run("count filter_color[red] scene", compiled).answer == 2


def test_compiled_scenes_do_not_leak_between_scene_objects():
    # Fresh scenes may reuse a freed scene's id(): each must still be compiled on its own.
    colors = ["red", "blue", "green", "cyan", "gray", "brown"]
    for k, color in enumerate(colors):
        objects = tuple(SceneObject("cube", color if i <= k else "yellow", "small", "metal") for i in range(6))
        s = Scene(objects, {r: [[] for _ in range(6)] for r in ("left", "right", "behind", "front")})
        assert run(f"count filter_color[{color}] scene", s).answer == k + 1
        del s
        gc.collect()


# ---------------------------------------------------------------------------- against a reference
def reference(program: Program, scene: Scene):
    """CLEVR's question engine written plainly with sorted lists: the answer, or None if invalid."""
    out: list = []
    for node in program:
        f, ins, vals = node.function, [out[i] for i in node.inputs], node.value_inputs
        if f == "scene":
            y = list(range(len(scene.objects)))
        elif f.startswith("filter_"):
            y = [i for i in ins[0] if getattr(scene.objects[i], f[7:]) == vals[0]]
        elif f == "unique":
            if len(ins[0]) != 1:
                return None
            y = ins[0][0]
        elif f == "relate":
            y = sorted(scene.relationships[vals[0]][ins[0]])
        elif f == "union":
            y = sorted(set(ins[0]) | set(ins[1]))
        elif f == "intersect":
            y = sorted(set(ins[0]) & set(ins[1]))
        elif f == "count":
            y = len(ins[0])
        elif f == "exist":
            y = len(ins[0]) > 0
        elif f.startswith("query_"):
            y = getattr(scene.objects[ins[0]], f[6:])
        elif f.startswith("same_"):
            a = f[5:]
            me = getattr(scene.objects[ins[0]], a)
            y = [j for j, o in enumerate(scene.objects) if j != ins[0] and getattr(o, a) == me]
        elif f.startswith("equal_"):
            y = ins[0] == ins[1]
        elif f == "less_than":
            y = ins[0] < ins[1]
        elif f == "greater_than":
            y = ins[0] > ins[1]
        else:
            raise AssertionError(f)
        out.append(y)
    return out[-1]


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


def random_tree(rng, out_type, nodes, depth=0, root=None):
    """Draw a well-typed tree returning ``out_type`` (rooted at function ``root`` if given)."""
    if root is not None:
        spec = signature(root)
    elif depth >= 4:
        spec = signature(FALLBACK[out_type])
    else:
        names = [n for n in executable_functions() if functions()[n].output == out_type]
        spec = functions()[names[int(rng.integers(len(names)))]]
    values = tuple(str(rng.choice(types()[t])) for t in spec.value_inputs)
    inputs = tuple(random_tree(rng, t, nodes, depth + 1) for t in spec.inputs)
    nodes.append(Node(spec.name, inputs, values))
    return len(nodes) - 1


def random_scene(rng, n):
    v = {k: types()[k] for k in ("Shape", "Color", "Size", "Material")}
    objects = tuple(
        SceneObject(
            str(rng.choice(v["Shape"][:2])),  # few values, so that unique often succeeds and same_* finds company
            str(rng.choice(v["Color"][:3])),
            str(rng.choice(v["Size"])),
            str(rng.choice(v["Material"])),
            (float(rng.uniform(-3, 3)), float(rng.uniform(-3, 3)), 0.5),
        )
        for _ in range(n)
    )
    x = [o.coords[0] for o in objects]
    y = [o.coords[1] for o in objects]
    rel = {
        "left": [[j for j in range(n) if x[j] < x[i]] for i in range(n)],
        "right": [[j for j in range(n) if x[j] > x[i]] for i in range(n)],
        "behind": [[j for j in range(n) if y[j] > y[i]] for i in range(n)],
        "front": [[j for j in range(n) if y[j] < y[i]] for i in range(n)],
    }
    return Scene(objects, rel)


def test_executor_agrees_with_a_plain_reference_on_random_programs():
    rng = np.random.default_rng(3)
    # Small scenes, so that unique often finds a singleton; two larger ones for the bitmasks.
    scenes = [random_scene(rng, n) for n in [1, 1, 2, 2, 3, 4, 5] * 3 + [8, 10]]
    roots = [n for n in executable_functions() if functions()[n].output not in ("Object", "ObjectSet")]
    assert len(roots) == 14
    invalid, used = 0, set()
    for root in roots:  # draw programs answering with each function until 5 run validly
        valid = 0
        for k in range(2000):
            nodes: list[Node] = []
            random_tree(rng, functions()[root].output, nodes, root=root)
            program = Program(tuple(nodes))
            s = scenes[k % len(scenes)]
            expected = reference(program, s)
            got = execute(program, s)
            assert got.valid == (expected is not None), (program.to_tokens(), got.error)
            if not got.valid:
                invalid += 1
                assert "(unique): unique needs exactly one object" in got.error
                continue
            valid += 1
            used.update(n.function for n in program)
            assert got.answer == expected and type(got.answer) is type(expected), program.to_tokens()
            assert execute(program.to_clevr(), s).answer == got.answer
            if valid == 5:
                break
        assert valid == 5, root
    assert invalid > 0
    assert used == set(executable_functions())
