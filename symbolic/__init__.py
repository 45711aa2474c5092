"""What is reasoned: expressions (sympy), programs and search — numpy and sympy only, no torch.

``symbolic`` never imports ``neural`` or ``hybrid``.
"""
