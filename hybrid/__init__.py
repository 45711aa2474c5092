"""Hybrid: neuro-symbolic models measured side by side with deep baselines.

``hybrid`` composes and measures: pipelines that join ``neural`` perception to
``symbolic`` reasoning over ``tasks`` data, the evaluator, reports, the CLI.
"""

__version__ = "0.1.0"
