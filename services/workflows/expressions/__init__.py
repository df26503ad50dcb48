"""The small, safe expression language condition nodes branch on.

``draft.metadata.sentiment == "positive" and len(review.content) > 200`` reads upstream node
outputs by node id. Source is tokenized and parsed by hand into frozen dataclasses, then the tree
is walked; user text never reaches ``eval``, ``exec`` or ``compile``.

What the language has:

* literals: ``12``, ``1.5``, ``2e3``, ``'text'`` / ``"text"`` (escapes ``\\n \\t \\r \\\\ \\' \\" \\/ \\uXXXX``),
  ``true false null`` (also ``True False None``) and lists ``["a", "b"]``;
* ``a.b`` and ``a["b"]`` read dict keys only (never Python attributes), ``a[0]`` reads a list;
  a missing key, an index out of range, or reading from null gives null. A root name missing
  from the context is an error;
* by precedence, loosest first: ``or ||``; ``and &&``; ``not !``; ``== != < <= > >= in``,
  ``not in`` (not chainable); ``+ -``; ``* / %``; unary ``-``; ``.key [index]``;
* ``and``, ``or`` and ``not`` short-circuit and always give true or false;
* whitelisted functions only (``FUNCTIONS``); any other name followed by ``(`` fails at parse time:
  ``len lower upper trim contains startswith endswith number string bool min max abs round``.
  ``string`` writes non-strings as JSON (``null``, ``true``, ``[1, 2]``); ``number`` reads ints and
  decimals; ``min``/``max`` take several values or one list; ``round(x, ndigits=0)`` rounds halves
  away from zero and gives a whole number when ``ndigits <= 0``.

Limits keep it cheap: ``MAX_SOURCE_LENGTH`` characters, ``MAX_DEPTH`` levels of nesting (brackets,
prefix operators, operator chains, ``.key`` chains), strings and lists capped at
``MAX_RESULT_LENGTH``, no repetition operator, no power operator.

The package: ``syntax`` (tree nodes, ``ExpressionError``, limits), ``tokenizer``, ``parser``,
``values`` (value rules shared by the evaluator and the functions), ``functions`` (the whitelist)
and ``evaluator``. Import from here; the modules are internal.
"""

from services.workflows.expressions.evaluator import evaluate, references
from services.workflows.expressions.functions import FUNCTIONS, Function
from services.workflows.expressions.parser import parse
from services.workflows.expressions.syntax import (
    MAX_DEPTH,
    MAX_RESULT_LENGTH,
    MAX_SOURCE_LENGTH,
    ArithmeticOp,
    Attribute,
    Binary,
    Call,
    Comparison,
    ComparisonOp,
    Constant,
    Expression,
    ExpressionError,
    Index,
    ListValue,
    Logical,
    Name,
    Negate,
    Not,
)
from services.workflows.expressions.tokenizer import TokenKind
from services.workflows.expressions.values import truthy

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_RESULT_LENGTH",
    "MAX_SOURCE_LENGTH",
    "ArithmeticOp",
    "Attribute",
    "Binary",
    "Call",
    "Comparison",
    "ComparisonOp",
    "Constant",
    "Expression",
    "ExpressionError",
    "Function",
    "Index",
    "ListValue",
    "Logical",
    "Name",
    "Negate",
    "Not",
    "TokenKind",
    "evaluate",
    "parse",
    "references",
    "truthy",
]
