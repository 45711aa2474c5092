"""A visual-QA data set in memory: rendered images, their scene tables, and questions.

:class:`VQAData` is what the ``clevr`` task hands to a method's ``fit`` and what the
NS-VQA pipeline and the deep baselines read: ``images[i]`` is the rendering of
``scenes[i]``, and each question's ``image_index`` points into both. It loads CLEVR's
own files too (:func:`load_clevr`), so a user's ``CLEVR_scenes.json`` /
``CLEVR_questions.json`` pair runs through the same code.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from hybrid.tasks.clevr import (
    Question,
    Scene,
    generate_dataset,
    read_images,
    read_questions,
    read_scenes,
    render_scene,
)

#: Least visible share of every object's silhouette in generated scenes: CLEVR's own
#: generator rejects renders where an object shows too few pixels, since no parser
#: can see a hidden object.
MIN_VISIBLE = 0.3


@dataclass(frozen=True)
class VQAData:
    """Images, their scenes and questions about them.

    Attributes:
        images: ``(n_images, H, W, 3)`` uint8 renders.
        scenes: the ground-truth scene of each image (same order).
        questions: questions whose ``image_index`` is a position in ``images``.

    Raises:
        ValueError: images of the wrong shape or dtype, a scene count that differs from
            the image count, or a question about an image that is not there.
    """

    images: np.ndarray
    scenes: tuple[Scene, ...]
    questions: tuple[Question, ...]

    def __post_init__(self) -> None:
        images = self.images
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
            got = getattr(images, "shape", type(images).__name__), getattr(images, "dtype", None)
            raise ValueError(f"images must be a (n, H, W, 3) uint8 array, got {got}")
        object.__setattr__(self, "scenes", tuple(self.scenes))
        object.__setattr__(self, "questions", tuple(self.questions))
        if len(self.scenes) != len(images):
            raise ValueError(f"scenes: {len(self.scenes)} scenes for {len(images)} images")
        for k, q in enumerate(self.questions):
            if not 0 <= q.image_index < len(images):
                raise ValueError(f"questions[{k}].image_index is {q.image_index}, but there are {len(images)} images")

    def __len__(self) -> int:
        return len(self.questions)

    @property
    def image_index(self) -> np.ndarray:
        """Each question's image, as an int array."""
        return np.array([q.image_index for q in self.questions], dtype=np.int64)

    def texts(self) -> list[str]:
        """The questions' texts."""
        return [q.question for q in self.questions]

    def answers(self) -> list[str]:
        """The answers as CLEVR's strings (``"yes"``, ``"3"``, ``"red"``)."""
        return [_answer_str(q.answer) for q in self.questions]

    def subset(self, n_questions: int) -> VQAData:
        """The first ``n_questions`` questions, with the images they ask about (re-indexed)."""
        questions = self.questions[:n_questions]
        used = sorted({q.image_index for q in questions})
        where = {old: new for new, old in enumerate(used)}
        moved = tuple(_with_image_index(q, where[q.image_index]) for q in questions)
        return VQAData(self.images[used], tuple(self.scenes[i] for i in used), moved)


def _answer_str(answer) -> str:
    if isinstance(answer, bool):
        return "yes" if answer else "no"
    return str(answer)


def _with_image_index(q: Question, index: int) -> Question:
    return replace(q, image_index=index)


def render_images(scenes: Sequence[Scene], image_size: int = 128) -> np.ndarray:
    """Render every scene: a ``(n, image_size, image_size, 3)`` uint8 array."""
    if not scenes:
        return np.zeros((0, image_size, image_size, 3), dtype=np.uint8)
    return np.stack([render_scene(s, image_size).image for s in scenes])


def make_vqa_data(
    n_scenes: int,
    questions_per_scene: int,
    rng: np.random.Generator,
    *,
    condition: str | None = None,
    image_size: int = 128,
    min_visible: float = MIN_VISIBLE,
    split: str = "new",
    progress: bool = False,
) -> VQAData:
    """Generate scenes, render them and ask CLEVR's questions about them.

    Args:
        n_scenes: number of scenes (images).
        questions_per_scene: questions per scene (a scene may get fewer).
        rng: the random generator.
        condition: ``None`` (CLEVR) or ``"A"``/``"B"`` (CoGenT colour sets).
        image_size: side of the square renders.
        min_visible: least visible share of each object (see :data:`MIN_VISIBLE`).
        split: the split named in the records.
        progress: tqdm bar over scenes.

    Returns:
        The :class:`VQAData`; answers are balanced per template over the whole set.
    """
    scenes, questions = generate_dataset(
        n_scenes,
        questions_per_scene,
        rng,
        condition=condition,
        split=split,
        min_visible=min_visible,
        image_size=image_size,
        progress=progress,
    )
    return VQAData(render_images(scenes, image_size), tuple(scenes), tuple(questions))


def load_clevr(
    scenes_path: str | os.PathLike,
    questions_path: str | os.PathLike,
    image_size: int = 128,
    images: str | os.PathLike | None = None,
) -> VQAData:
    """A CLEVR scenes file and questions file as :class:`VQAData`.

    The questions' ``image_index`` is matched to the scenes' ``image_index`` (CLEVR's
    convention), then re-numbered to positions; questions about scenes absent from the
    file raise. Answers are CLEVR's strings (``"yes"``, ``"3"``) whatever the file holds.

    Args:
        scenes_path, questions_path: CLEVR's ``CLEVR_<split>_scenes.json`` and
            ``CLEVR_<split>_questions.json`` (or files in their schema).
        image_size: side of the square images handed to the models.
        images: the folder of the scenes' pictures (``CLEVR_v1.0/images/val``; each
            scene's ``image_filename`` in it): they are read as they are and resized to
            ``image_size`` x ``image_size``, and each object's ``pixel_coords`` is rescaled
            into that frame (train a :class:`~hybrid.neural.vqa.scene_parser.SceneParser`
            on them with ``positions="recorded"``). ``None``: every image is drawn by this
            package's numpy renderer from ``3d_coords`` -- a different picture from
            CLEVR's Blender renders, which a parser trained on one has not seen.

    Raises:
        ValueError: a file not in CLEVR's schema, a question about a missing scene, or an
            unreadable image (named).
        FileNotFoundError: an image of a scene missing from ``images`` (named), or a
            folder holding none of them.
    """
    scenes = read_scenes(scenes_path)
    questions = read_questions(questions_path)
    position = {s.image_index: i for i, s in enumerate(scenes)}
    moved = []
    for k, q in enumerate(questions):
        if q.image_index not in position:
            raise ValueError(f"questions[{k}] asks about image_index {q.image_index}, which the scenes file lacks")
        moved.append(_with_image_index(q, position[q.image_index]))
    if images is None:
        return VQAData(render_images(scenes, image_size), tuple(scenes), tuple(moved))
    pictures, rescaled = _read_pictures(images, scenes, image_size)
    return VQAData(pictures, tuple(rescaled), tuple(moved))


def _read_pictures(folder, scenes, image_size: int) -> tuple[np.ndarray, list[Scene]]:
    """The scenes' images from ``folder`` resized to ``image_size``, and the scenes with their
    ``pixel_coords`` rescaled into that frame."""
    images, sizes = read_images(folder, scenes, image_size)
    return images, [rescale_pixels(s, image_size / w, image_size / h) for s, (w, h) in zip(scenes, sizes, strict=True)]


def rescale_pixels(scene: Scene, sx: float, sy: float) -> Scene:
    """``scene`` with every object's ``pixel_coords`` scaled by ``sx`` (columns) and ``sy``
    (rows), depth kept: the frame of a resized image."""
    objects = tuple(
        replace(o, pixel_coords=(o.pixel_coords[0] * sx, o.pixel_coords[1] * sy, o.pixel_coords[2]))
        for o in scene.objects
    )
    return replace(scene, objects=objects)


def blender_vqa_data(
    data: VQAData,
    folder: str | os.PathLike,
    settings=None,
    *,
    seed: int = 0,
    image_size: int = 128,
    progress: bool = False,
) -> tuple[VQAData, dict]:
    """The same scenes and questions, pictured by Blender with CLEVR's assets.

    Every scene of ``data`` is rendered into ``folder`` by
    :func:`~hybrid.tasks.clevr.blender.render_scenes` (cached, resumable), then read back as a
    user's CLEVR image folder is (:func:`~hybrid.tasks.clevr.io.read_images`, resized to
    ``image_size``, ``pixel_coords`` rescaled). Scenes in which an object shows fewer
    pixels than CLEVR allows are dropped with their questions, as CLEVR re-draws them.

    Args:
        data: generated images, scenes and questions (the images are replaced).
        folder: where the renders go (and are found again).
        settings: a :class:`~hybrid.tasks.clevr.blender.BlenderSettings`.
        seed: the render jitter seed.
        image_size: side of the square images handed to the models.
        progress: a tqdm bar over renders.

    Returns:
        ``(data, stats)``: the re-pictured data, and ``scenes``, ``dropped`` (scenes
        dropped), ``rendered`` (renders made now, not read from the cache), ``seconds``
        (their render time) and ``images_per_s``.

    Raises:
        ImportError: ``bpy`` is missing (the message names the ``render`` extra).
    """
    from hybrid.tasks.clevr.blender import render_scenes

    rendered = render_scenes(data.scenes, folder, settings, seed=seed, progress=progress)
    keep = [i for i, r in enumerate(rendered) if r.ok]
    images, scenes = _read_pictures(folder, [rendered[i].scene for i in keep], image_size)
    where = {old: new for new, old in enumerate(keep)}
    questions = tuple(_with_image_index(q, where[q.image_index]) for q in data.questions if q.image_index in where)
    fresh = [r.seconds for r in rendered if r.seconds > 0]
    stats = {
        "scenes": len(rendered),
        "dropped": len(rendered) - len(keep),
        "rendered": len(fresh),
        "seconds": float(sum(fresh)),
        "images_per_s": len(fresh) / sum(fresh) if fresh else None,
    }
    return VQAData(images, tuple(scenes), questions), stats
