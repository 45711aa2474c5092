"""CLEVR-style scenes, renderer, templates and question generator (visual QA pillar)."""

from tasks.clevr.generator import (
    DIRECTIONS,
    cogent_allowed,
    compute_relationships,
    generate_scene,
    generate_scenes,
    image_filename,
    object_height,
)
from tasks.clevr.io import Question, read_questions, read_scenes, write_questions, write_scenes
from tasks.clevr.render import Rendering, project, render_scene, visible_fractions
from tasks.clevr.scene import ATTRIBUTES, RELATIONS, Scene, SceneObject, Vocabulary, data_path, load_json, vocabulary

__all__ = [
    "ATTRIBUTES",
    "DIRECTIONS",
    "RELATIONS",
    "Question",
    "Rendering",
    "Scene",
    "SceneObject",
    "Vocabulary",
    "cogent_allowed",
    "compute_relationships",
    "data_path",
    "generate_scene",
    "generate_scenes",
    "image_filename",
    "load_json",
    "object_height",
    "project",
    "read_questions",
    "read_scenes",
    "render_scene",
    "visible_fractions",
    "vocabulary",
    "write_questions",
    "write_scenes",
]
