"""CLEVR-style scenes, renderer, templates and question generator (visual QA pillar)."""

from tasks.clevr.scene import ATTRIBUTES, RELATIONS, Scene, SceneObject, Vocabulary, data_path, load_json, vocabulary

__all__ = ["ATTRIBUTES", "RELATIONS", "Scene", "SceneObject", "Vocabulary", "data_path", "load_json", "vocabulary"]
