"""Scene parser, question parser and end-to-end baselines (visual QA pillar)."""
