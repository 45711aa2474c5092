"""CLEVR's own file formats, read and written: ``CLEVR_scenes.json``, ``CLEVR_questions.json``
and image folders (read by :func:`read_images`).

A scenes file is ``{"info": {...}, "scenes": [scene, ...]}`` with each scene
``{"split", "image_index", "image_filename", "objects": [{"color", "size", "shape",
"material", "3d_coords", "rotation", "pixel_coords"}, ...], "relationships": {"left":
[[...], ...], ...}, "directions": {...}}``; a questions file is ``{"info": {...},
"questions": [question, ...]}``. CLEVR v1.0's files load as they are: extra keys are
ignored, and what its test split or older tools leave out is tolerated (see
:func:`read_scenes` and :func:`read_questions`).

Programs are kept as the plain node dicts of the file, untouched: CLEVR v1.0 writes
``{"function", "inputs", "value_inputs"}``, its question generator ``{"type",
"inputs", "side_inputs"}``. Parsing them is the job of ``hybrid.symbolic.programs``.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from hybrid.tasks._checks import finite_float
from hybrid.tasks.clevr.generator import compute_relationships
from hybrid.tasks.clevr.scene import Scene, SceneObject, vocabulary

#: The ``info`` block written when none is given (plus ``split`` when all items share one).
DEFAULT_INFO: Mapping[str, str] = {"version": "1.0"}

_ATTRIBUTE_KEYS = ("color", "size", "shape", "material")


# ----------------------------------------------------------------------------- scenes


def scene_to_dict(scene: Scene) -> dict[str, Any]:
    """One scene as CLEVR's JSON record (plain lists and dicts, ready for ``json.dump``)."""
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a Scene, got {type(scene).__name__}")
    return {
        "split": scene.split,
        "image_index": scene.image_index,
        "image_filename": scene.image_filename,
        "objects": [
            {
                "color": o.color,
                "size": o.size,
                "shape": o.shape,
                "material": o.material,
                "3d_coords": list(o.coords),
                "rotation": o.rotation,
                "pixel_coords": list(o.pixel_coords),
            }
            for o in scene.objects
        ],
        "relationships": {name: [list(row) for row in rows] for name, rows in scene.relationships.items()},
        "directions": {name: list(vec) for name, vec in scene.directions.items()},
    }


def _shown(value: Any) -> str:
    """``repr(value)`` cut to 80 characters (a hostile file's values can be huge)."""
    try:
        text = repr(value)
    except ValueError:  # an int too long for str()
        return f"<{type(value).__name__} too large to show>"
    return text if len(text) <= 80 else text[:77] + "..."


def _numbers(value: Any, length: int, where: str) -> tuple[float, ...]:
    numbers = [finite_float(v) for v in value] if isinstance(value, (list, tuple)) else []
    if len(numbers) != length or any(v is None for v in numbers) or len(value) != length:
        raise ValueError(f"{where} must be a list of {length} finite numbers, got {_shown(value)}")
    return tuple(numbers)  # type: ignore[arg-type]


def scene_from_dict(record: Mapping[str, Any], index: int = 0) -> Scene:
    """Build a :class:`Scene` from one CLEVR scene record.

    Args:
        record: the scene's dict. Required: ``objects``, each with ``color``, ``size``,
            ``shape``, ``material`` and ``3d_coords``. Optional: ``rotation`` (default
            0), ``pixel_coords`` (default zeros), ``directions`` (default none),
            ``relationships`` (default: computed from ``directions`` with
            :func:`~hybrid.tasks.clevr.generator.compute_relationships` when those are given,
            else none), ``image_index`` (default ``index``), ``image_filename``
            (default ``""``), ``split`` (default ``"new"``). Other keys are ignored.
        index: the scene's position in its file, used in error messages.

    Returns:
        The scene.

    Raises:
        ValueError: a malformed record; the message names ``scenes[index]`` and the key.
    """
    where = f"scenes[{index}]"
    if not isinstance(record, Mapping):
        raise ValueError(f"{where} must be a JSON object, got {type(record).__name__}")
    if "objects" not in record:
        raise ValueError(f"{where} has no 'objects' key")
    if not isinstance(record["objects"], list):
        raise ValueError(f"{where}['objects'] must be a list, got {type(record['objects']).__name__}")
    objects = []
    for k, obj in enumerate(record["objects"]):
        at = f"{where}['objects'][{k}]"
        if not isinstance(obj, Mapping):
            raise ValueError(f"{at} must be a JSON object, got {type(obj).__name__}")
        for key in (*_ATTRIBUTE_KEYS, "3d_coords"):
            if key not in obj:
                raise ValueError(f"{at} has no {key!r} key")
        for key in _ATTRIBUTE_KEYS:
            if not isinstance(obj[key], str):
                raise ValueError(f"{at}[{key!r}] must be a string, got {_shown(obj[key])}")
            allowed = vocabulary().values(key)
            if obj[key] not in allowed:
                raise ValueError(
                    f"{at}[{key!r}] is {_shown(obj[key])}, not one of CLEVR's values: {', '.join(allowed)}"
                )
        rotation = finite_float(obj.get("rotation", 0.0))
        if rotation is None:
            raise ValueError(f"{at}['rotation'] must be a finite number, got {_shown(obj['rotation'])}")
        objects.append(
            SceneObject(
                shape=obj["shape"],
                color=obj["color"],
                size=obj["size"],
                material=obj["material"],
                coords=_numbers(obj["3d_coords"], 3, f"{at}['3d_coords']"),
                pixel_coords=_numbers(obj.get("pixel_coords", [0, 0, 0]), 3, f"{at}['pixel_coords']"),
                rotation=rotation,
            )
        )
    directions = record.get("directions", {})
    if not isinstance(directions, Mapping):
        raise ValueError(f"{where}['directions'] must be a JSON object, got {type(directions).__name__}")
    directions = {name: _numbers(vec, 3, f"{where}['directions'][{name!r}]") for name, vec in directions.items()}
    if "relationships" in record:
        relationships = record["relationships"]
        if not isinstance(relationships, Mapping) or not all(
            isinstance(rows, list) and all(isinstance(row, list) for row in rows) for rows in relationships.values()
        ):
            raise ValueError(f"{where}['relationships'] must map each relation to a list of index lists")
        for name, rows in relationships.items():
            for i, row in enumerate(rows):
                if not all(isinstance(j, int) and not isinstance(j, bool) for j in row):
                    raise ValueError(f"{where}['relationships'][{name!r}][{i}] must hold integers, got {_shown(row)}")
    elif directions:
        try:
            relationships = compute_relationships(objects, directions)
        except ValueError as exc:
            raise ValueError(f"{where}: cannot compute 'relationships' from 'directions': {exc}") from None
    else:
        relationships = {}
    image_index = record.get("image_index", index)
    if isinstance(image_index, bool) or not isinstance(image_index, int) or image_index < 0:
        raise ValueError(f"{where}['image_index'] must be an int >= 0, got {_shown(image_index)}")
    for key in ("image_filename", "split"):
        if key in record and not isinstance(record[key], str):
            raise ValueError(f"{where}[{key!r}] must be a string, got {_shown(record[key])}")
    try:
        return Scene(
            objects=tuple(objects),
            relationships=relationships,
            directions=directions,
            image_filename=record.get("image_filename", ""),
            image_index=image_index,
            split=record.get("split", "new"),
        )
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _info(info: Mapping[str, Any] | None, items: Sequence[Any]) -> dict[str, Any]:
    if info is not None:
        if not isinstance(info, Mapping):
            raise ValueError(f"info must be a dict or None, got {type(info).__name__}")
        return dict(info)
    out: dict[str, Any] = dict(DEFAULT_INFO)
    splits = {item.split for item in items}
    if len(splits) == 1:
        out["split"] = splits.pop()
    return out


def _dump(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(payload, fh)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise ValueError(f"number {shown} is out of range for a float")
    return value


def _load(path: str | os.PathLike) -> Any:
    """Parse a JSON file strictly; every failure is a ValueError that names the file.

    ``NaN``/``Infinity`` and numbers beyond a float's range (``1e999``) are refused,
    and so are integers too long to convert and nesting too deep for the parser.
    """
    name = os.fspath(path)
    with open(path, encoding="utf-8") as fh:
        try:
            return json.load(fh, parse_constant=_refuse_constant, parse_float=_finite_float)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name} is not valid JSON: {exc}") from None
        except RecursionError:
            raise ValueError(f"{name}: JSON nested too deeply to read") from None
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None


def write_scenes(path: str | os.PathLike, scenes: Iterable[Scene], info: Mapping[str, Any] | None = None) -> None:
    """Write scenes as a CLEVR scenes file (``{"info": ..., "scenes": [...]}``).

    Args:
        path: the file to write (overwritten).
        scenes: the scenes.
        info: the ``info`` block; default :data:`DEFAULT_INFO` plus the scenes' ``split``
            when they all share one.

    Raises:
        TypeError: an item is not a :class:`Scene`.
    """
    scenes = list(scenes)
    records = [scene_to_dict(scene) for scene in scenes]
    _dump(path, {"info": _info(info, scenes), "scenes": records})


def read_scenes(path: str | os.PathLike) -> list[Scene]:
    """Read a CLEVR scenes file, such as CLEVR v1.0's ``CLEVR_val_scenes.json``, as it is.

    Accepts ``{"info": ..., "scenes": [...]}``, a bare list of scene records, or one scene
    record (the per-image files CLEVR's renderer writes). Each record is read by
    :func:`scene_from_dict`.

    Returns:
        The scenes, in file order.

    Raises:
        ValueError: not JSON, no scenes in it, or a malformed scene (named by index and key).
    """
    data = _load(path)
    if isinstance(data, Mapping) and "scenes" in data:
        records = data["scenes"]
    elif isinstance(data, Mapping) and "objects" in data:
        records = [data]
    elif isinstance(data, list):
        records = data
    else:
        raise ValueError(f"{os.fspath(path)} holds no 'scenes' list (nor a scene with 'objects')")
    if not isinstance(records, list):
        raise ValueError(f"{os.fspath(path)}: 'scenes' must be a list, got {type(records).__name__}")
    try:
        return [scene_from_dict(record, i) for i, record in enumerate(records)]
    except ValueError as exc:
        raise ValueError(f"{os.fspath(path)}: {exc}") from None


# -------------------------------------------------------------------------- questions


@dataclass(frozen=True)
class Question:
    """One CLEVR question, as in ``CLEVR_questions.json``.

    Attributes:
        question: the question's text.
        answer: the answer; ``None`` where the file has none (test split). Read from a
            file it is always spelled as CLEVR v1.0 spells answers (``"yes"``/``"no"``,
            ``"3"``, ``"red"``), whatever the file holds: CLEVR's question generator writes
            JSON ``true``/``false`` and integers. Built directly, an int or a bool is kept.
        program: the program's nodes, the file's dicts kept as they are (``function`` +
            ``value_inputs`` in CLEVR v1.0, ``type`` + ``side_inputs`` from its
            generator); empty where the file has none.
        image_filename, image_index, split: the image the question is about.
        question_index: the question's index in its split.
        question_family_index: the template's family, or ``None``.
        template_filename: the template file the question came from, or ``None``.

    A question holds dicts, so it compares by value but cannot be hashed.
    """

    question: str
    answer: str | int | bool | None = None
    program: tuple[dict[str, Any], ...] = ()
    image_filename: str = ""
    image_index: int = 0
    split: str = "new"
    question_index: int = 0
    question_family_index: int | None = None
    template_filename: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.question, str):
            raise ValueError(f"question must be a string, got {_shown(self.question)}")
        if self.answer is not None and not isinstance(self.answer, (str, int)):
            raise ValueError(f"answer must be a string, an int, a bool or None, got {_shown(self.answer)}")
        program = tuple(self.program)
        for k, node in enumerate(program):
            if not isinstance(node, dict):
                raise ValueError(f"program[{k}] must be a dict, got {type(node).__name__}")
        object.__setattr__(self, "program", program)
        for name in ("image_index", "question_index"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {_shown(value)}")
        qfi = self.question_family_index
        if qfi is not None and (isinstance(qfi, bool) or not isinstance(qfi, int)):
            raise ValueError(f"question_family_index must be an int or None, got {_shown(qfi)}")
        for name in ("image_filename", "split"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string, got {_shown(getattr(self, name))}")
        if self.template_filename is not None and not isinstance(self.template_filename, str):
            raise ValueError(f"template_filename must be a string or None, got {_shown(self.template_filename)}")


def question_to_dict(question: Question) -> dict[str, Any]:
    """One question as CLEVR's JSON record; ``answer``, ``question_family_index`` and
    ``template_filename`` are left out when ``None`` (as in CLEVR v1.0's test split)."""
    if not isinstance(question, Question):
        raise TypeError(f"question must be a Question, got {type(question).__name__}")
    record: dict[str, Any] = {
        "split": question.split,
        "image_filename": question.image_filename,
        "image_index": question.image_index,
        "question": question.question,
        "program": copy.deepcopy(list(question.program)),
        "question_index": question.question_index,
    }
    for key in ("answer", "question_family_index", "template_filename"):
        if getattr(question, key) is not None:
            record[key] = getattr(question, key)
    return record


def question_from_dict(record: Mapping[str, Any], index: int = 0) -> Question:
    """Build a :class:`Question` from one CLEVR question record.

    Args:
        record: the question's dict. Required: ``question``. Optional: ``answer``,
            ``program`` (default empty), ``image_filename``, ``image_index`` (default 0),
            ``split``, ``question_index`` (default ``index``), ``question_family_index``,
            ``template_filename``. Other keys (``image``, ...) are ignored.
        index: the question's position in its file, used in error messages.

    Returns:
        The question; its program nodes are deep copies of the record's, and its answer is
        written as CLEVR v1.0 writes answers (JSON ``true`` -> ``"yes"``, ``2`` -> ``"2"``).

    Raises:
        ValueError: a malformed record; the message names ``questions[index]`` and the key.
    """
    where = f"questions[{index}]"
    if not isinstance(record, Mapping):
        raise ValueError(f"{where} must be a JSON object, got {type(record).__name__}")
    if "question" not in record:
        raise ValueError(f"{where} has no 'question' key")
    program = record.get("program", [])
    if not isinstance(program, list):
        raise ValueError(f"{where}['program'] must be a list of nodes, got {type(program).__name__}")
    answer = record.get("answer")
    if isinstance(answer, (bool, int)):
        from hybrid.tasks.clevr.engine import answer_string  # engine imports this module

        answer = answer_string(answer)
    try:
        return Question(
            question=record["question"],
            answer=answer,
            program=tuple(copy.deepcopy(program)),
            image_filename=record.get("image_filename", ""),
            image_index=record.get("image_index", 0),
            split=record.get("split", "new"),
            question_index=record.get("question_index", index),
            question_family_index=record.get("question_family_index"),
            template_filename=record.get("template_filename"),
        )
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def write_questions(
    path: str | os.PathLike, questions: Iterable[Question], info: Mapping[str, Any] | None = None
) -> None:
    """Write questions as a CLEVR questions file (``{"info": ..., "questions": [...]}``).

    Args:
        path: the file to write (overwritten).
        questions: the questions.
        info: the ``info`` block; default :data:`DEFAULT_INFO` plus the questions'
            ``split`` when they all share one.

    Raises:
        TypeError: an item is not a :class:`Question`.
    """
    questions = list(questions)
    records = [question_to_dict(q) for q in questions]
    _dump(path, {"info": _info(info, questions), "questions": records})


def read_questions(path: str | os.PathLike) -> list[Question]:
    """Read a CLEVR questions file, such as CLEVR v1.0's ``CLEVR_val_questions.json``, as it is.

    Accepts ``{"info": ..., "questions": [...]}`` or a bare list of question records;
    each is read by :func:`question_from_dict`.

    Returns:
        The questions, in file order.

    Raises:
        ValueError: not JSON, no questions in it, or a malformed question (named by index and key).
    """
    data = _load(path)
    if isinstance(data, Mapping) and "questions" in data:
        records = data["questions"]
    elif isinstance(data, list):
        records = data
    else:
        raise ValueError(f"{os.fspath(path)} holds no 'questions' list")
    if not isinstance(records, list):
        raise ValueError(f"{os.fspath(path)}: 'questions' must be a list, got {type(records).__name__}")
    try:
        return [question_from_dict(record, i) for i, record in enumerate(records)]
    except ValueError as exc:
        raise ValueError(f"{os.fspath(path)}: {exc}") from None


# ----------------------------------------------------------------------------- images


def read_images(
    folder: str | os.PathLike, scenes: Sequence[Scene], size: int | tuple[int, int] | None = None
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Read the image of each scene from a CLEVR image folder (``CLEVR_v1.0/images/val/``).

    Each scene's ``image_filename`` is looked up in ``folder``; PNG, JPEG, RGBA or grey
    images are read as RGB (CLEVR's PNGs carry an alpha channel).

    Args:
        folder: the folder holding the images.
        scenes: the scenes, whose ``image_filename`` names their image.
        size: resize every image to ``size`` x ``size`` (an int) or ``(width, height)``
            (antialiased bilinear); ``None`` keeps them as they are, and they must then
            all have one size.

    Returns:
        ``(images, original sizes)``: an ``(n, H, W, 3)`` uint8 array and each image's
        ``(width, height)`` on disk (to rescale its ``pixel_coords``).

    Raises:
        FileNotFoundError: ``folder`` is not a folder, or a scene's image is not in it (the
            message names the file and the scene, and says when the folder holds none of
            the scenes' images: the folder of another split or data set).
        ValueError: a scene without ``image_filename``, an unreadable image (named), or
            images of different sizes with ``size=None``.
    """
    from PIL import Image, UnidentifiedImageError

    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"images folder {root} does not exist or is not a folder")
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    paths = []
    for i, scene in enumerate(scenes):
        if not scene.image_filename:
            raise ValueError(f"scenes[{i}] has no image_filename: cannot find its image in {root}")
        paths.append(root / scene.image_filename)
    missing = [(i, p) for i, p in enumerate(paths) if not p.is_file()]
    if missing:
        i, p = missing[0]
        if len(missing) == len(paths):
            raise FileNotFoundError(
                f"images folder {root} holds none of the scenes' {len(paths)} images (the first, {p.name}, for "
                f"scenes[{i}]): is it the folder of this scenes file's split?"
            )
        raise FileNotFoundError(f"{p}: no image for scenes[{i}] ({len(missing)} of {len(paths)} images missing)")
    images, sizes = [], []
    for p in paths:
        try:
            with Image.open(p) as im:
                im.load()
                sizes.append(im.size)
                rgb = im.convert("RGB")
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise ValueError(f"{p} is not a readable image: {exc}") from None
        if size is not None and rgb.size != tuple(size):
            rgb = rgb.resize(tuple(size), Image.Resampling.BILINEAR)
        images.append(np.asarray(rgb, dtype=np.uint8))
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise ValueError(f"images in {root} differ in size ({sorted(shapes)[:3]}...): give size= to resize them")
    if not images:
        return np.zeros((0, 1, 1, 3), dtype=np.uint8), []
    return np.stack(images), sizes
