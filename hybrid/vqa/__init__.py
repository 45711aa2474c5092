"""The NS-VQA pipeline (visual QA pillar)."""
