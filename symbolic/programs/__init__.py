"""The CLEVR functional-program DSL and its executor (visual QA pillar).

* :class:`Program` / :class:`Node`: immutable programs, read and written in CLEVR's JSON
  forms (:meth:`Program.from_clevr`, :meth:`Program.to_clevr`) and as prefix tokens for
  sequence models (:meth:`Program.to_tokens`, :meth:`Program.from_tokens`,
  :func:`token_vocabulary`).
* :func:`validate`: static checks against CLEVR's signatures and types
  (:func:`functions`, :func:`signature`, :func:`types`).
* :func:`execute`: runs a program on a :class:`~hybrid.tasks.clevr.scene.Scene`, giving a
  :class:`Result`; :func:`answer_text` writes the answer as CLEVR does.
"""

from hybrid.symbolic.programs.executor import CompiledScene, Result, answer_text, compile_scene, execute
from hybrid.symbolic.programs.functions import (
    FunctionSpec,
    answer_type,
    executable_functions,
    functions,
    signature,
    types,
    value_types,
)
from hybrid.symbolic.programs.program import Node, Program, output_type, to_program, token_vocabulary
from hybrid.symbolic.programs.validation import validate

__all__ = [
    "CompiledScene",
    "FunctionSpec",
    "Node",
    "Program",
    "Result",
    "answer_text",
    "answer_type",
    "compile_scene",
    "executable_functions",
    "execute",
    "functions",
    "output_type",
    "signature",
    "to_program",
    "token_vocabulary",
    "types",
    "validate",
    "value_types",
]
