"""The CLEVR functional-program DSL and its executor (visual QA pillar)."""
