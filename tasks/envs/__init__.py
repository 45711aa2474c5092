"""Gymnasium environments and level sets (planning pillar)."""
