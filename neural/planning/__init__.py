"""Perception nets, policy/value nets and deep-RL baselines (planning pillar)."""
