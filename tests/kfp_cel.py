"""The CEL subset of a compiled `triggerPolicy.condition`, evaluated as the KFP driver does.

The KFP v2 driver (`backend/src/v2/expression`) evaluates a task's condition with
cel-go against the task's ExecutorInput (proto field names: `inputs.artifacts`,
`inputs.parameter_values`) before it provisions outputs, and skips the task when the
result is false. TFX's compiler (`compiler_utils.placeholder_to_cel`) writes
conditions from a small grammar, and this module reads exactly that:

    inputs.artifacts['KEY'].artifacts[0].metadata['PROPERTY']   and  .uri
    'string' literals, number literals (TFX writes ints as floats: 0.0)
    ==  <  >  (the comparisons TFX emits; != <= >= as CEL has them)
    !  &&  ||  +  and parentheses

CEL's strictness is kept where it changes an outcome: a missing key or index, or a
comparison of a string with a number, is an error (the driver fails the task), never
a silent false; `&&` and `||` absorb an error when the other side decides, as CEL does.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|'(?P<string>[^']*)'"
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)|(?P<op>==|!=|<=|>=|&&|\|\||[<>!+\-.\[\]()]))"
)
_COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
Node = Callable[[dict[str, Any]], Any]


class CelError(ValueError):
    """A condition outside the supported grammar, or one CEL would fail to evaluate."""


def _kind(value: Any) -> type:
    """CEL's type of a JSON value: every number is a double in a protobuf Value."""
    return float if isinstance(value, int) and not isinstance(value, bool) else type(value)


def _same_kind(left: Any, right: Any, symbol: str) -> None:
    kinds = {_kind(left), _kind(right)}
    if len(kinds) != 1 or kinds & {dict, list, type(None)}:
        raise CelError(f"no matching overload for {left!r} {symbol} {right!r}")


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise CelError(f"{value!r} is not a bool")
    return value


def _select(value: Any, key: Any) -> Any:
    if isinstance(value, dict) and isinstance(key, str) and key in value:
        return value[key]
    if isinstance(value, list) and _kind(key) is float and 0 <= key < len(value):
        return value[int(key)]
    raise CelError(f"no such key or index {key!r}")


def _logical(left: Node, right: Node, decisive: bool) -> Node:
    """`&&` (decisive False) or `||` (decisive True), absorbing errors as CEL does."""

    def run(root: dict[str, Any]) -> bool:
        results = []
        for side in (left, right):
            try:
                results.append(_boolean(side(root)))
            except CelError as error:
                results.append(error)
        if decisive in results:
            return decisive
        errors = [r for r in results if isinstance(r, CelError)]
        if errors:
            raise errors[0]
        return not decisive

    return run


class _Parser:
    """Recursive descent over the tokens, building one closure per node."""

    def __init__(self, text: str) -> None:
        self.at = 0
        self.tokens: list[tuple[str, Any]] = []
        position, text = 0, text.rstrip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match:
                raise CelError(f"cannot read {text[position:]!r}")
            kind = match.lastgroup
            value = match.group(kind)
            self.tokens.append((kind, float(value) if kind == "number" else value))
            position = match.end()

    def peek(self) -> str | None:
        """The next operator, or None (at the end or before a name or literal)."""
        if self.at < len(self.tokens) and self.tokens[self.at][0] == "op":
            return self.tokens[self.at][1]
        return None

    def take(self, expected: str | None = None) -> tuple[str, Any]:
        if self.at >= len(self.tokens):
            raise CelError("the condition ends early")
        token = self.tokens[self.at]
        if expected is not None and token != ("op", expected):
            raise CelError(f"expected {expected!r}, found {token[1]!r}")
        self.at += 1
        return token

    def parse(self) -> Node:
        node = self.logical("||", True, lambda: self.logical("&&", False, self.comparison))
        if self.at != len(self.tokens):
            raise CelError(f"unexpected {self.tokens[self.at][1]!r}")
        return node

    def logical(self, symbol: str, decisive: bool, operand: Callable[[], Node]) -> Node:
        node = operand()
        while self.peek() == symbol:
            self.take()
            node = _logical(node, operand(), decisive)
        return node

    def comparison(self) -> Node:
        node = self.addition()
        if self.peek() in _COMPARE:
            symbol = self.take()[1]
            left, right = node, self.addition()

            def compare(root: dict[str, Any]) -> bool:
                a, b = left(root), right(root)
                _same_kind(a, b, symbol)
                return _COMPARE[symbol](a, b)

            node = compare
        return node

    def addition(self) -> Node:
        node = self.unary()
        while self.peek() == "+":
            self.take()
            node = self.binary_plus(node, self.unary())
        return node

    @staticmethod
    def binary_plus(left: Node, right: Node) -> Node:
        def plus(root: dict[str, Any]) -> Any:
            a, b = left(root), right(root)
            _same_kind(a, b, "+")
            return a + b

        return plus

    def unary(self) -> Node:
        if self.peek() == "!":
            self.take()
            inner = self.unary()
            return lambda root: not _boolean(inner(root))
        if self.peek() == "-":
            self.take()
            inner = self.unary()

            def negate(root: dict[str, Any]) -> float:
                value = inner(root)
                _same_kind(value, 0.0, "-")
                return -value

            return negate
        return self.member()

    def member(self) -> Node:
        kind, value = self.take()
        if kind == "op" and value == "(":
            node = self.parse_group()
        elif kind == "name":
            node = lambda root, name=value: _select(root, name)  # noqa: E731
        elif kind in ("number", "string"):
            node = lambda root, constant=value: constant  # noqa: E731
        else:
            raise CelError(f"unexpected {value!r}")
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                kind, field = self.take()
                if kind != "name":
                    raise CelError(f"expected a field after '.', found {field!r}")
                node = lambda root, inner=node, key=field: _select(inner(root), key)  # noqa: E731
            else:
                index = self.parse_group("]")
                node = lambda root, inner=node, key=index: _select(inner(root), key(root))  # noqa: E731
        return node

    def parse_group(self, closing: str = ")") -> Node:
        node = self.logical("||", True, lambda: self.logical("&&", False, self.comparison))
        self.take(closing)
        return node


def evaluate(condition: str, executor_input: dict[str, Any]) -> bool:
    """Whether a task with `condition` runs, given its ExecutorInput.

    Args:
        condition: a compiled `triggerPolicy.condition`.
        executor_input: the task's ExecutorInput as a dict with proto field names
            (`json_format.MessageToDict(..., preserving_proto_field_name=True)`).

    Returns:
        True to run the task, False to skip it.

    Raises:
        CelError: for syntax outside the grammar above, a missing key, a type
            mismatch, or a result that is not a bool (each fails the task in KFP).
    """
    try:
        result = _Parser(condition).parse()(executor_input)
    except CelError as error:
        raise CelError(f"{error} (condition {condition!r})") from None
    if not isinstance(result, bool):
        raise CelError(f"condition {condition!r} returned {result!r}, not a bool")
    return result
