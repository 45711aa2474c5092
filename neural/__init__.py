"""What is learned: PyTorch modules, their training loops, and deep baselines.

``neural`` never imports ``symbolic`` or ``hybrid``.
"""
