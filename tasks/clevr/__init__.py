"""CLEVR-style scenes, renderer, templates and question generator (visual QA pillar)."""
