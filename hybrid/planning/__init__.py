"""Perception-to-search agents (planning pillar)."""
