"""What web/static/js/lib/protocol.js can send, read from its source (no JS runtime).

protocol.js builds every client message in one of two ways: ``this.socket.send(TYPE,
FIELDS)`` in a method of ``Protocol`` (the socket adds ``type`` and ``id``), or an object
literal with a ``type: "…"`` string (the admin's ``auth``, sent by the socket itself).
``FIELDS`` is an object literal whose members are ``name``, ``name: value`` or
``...spread``, or ``defined({…})`` (whose members are left out when unset). A value that is
a call of a function of protocol.js (``descriptionFields(…)``) is read too: what each of its
``return``s gives (``null``, an object literal, or a variable built from a literal and
``variable.name = …`` assignments, those optional).

This is a reader of that small, regular subset, not of JavaScript: anything else where a
message is built raises :class:`Unreadable` (the test fails, saying where), rather than
guessing. A field is "always" sent unless it is inside ``defined(…)``, assigned
conditionally, or its value is a parameter the JSDoc marks optional (``[name]``,
``name?:``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

Token = tuple[str, str, int]  # kind (name, str, num, punct), text or value, line
_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<comment>//[^\n]*|/\*.*?\*/)
      | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<template>`(?:[^`\\]|\\.)*`)
      | (?P<num>\d[\w.]*)
      | (?P<name>[A-Za-z_$][\w$]*)
      | (?P<punct>\.\.\.|=>|===|!==|==|!=|&&|\|\||\?\?|\?\.|[-+*/%<>=!?:;,.(){}\[\]&|^~])
    """,
    re.S | re.X,
)
_OPEN = {"(": ")", "[": "]", "{": "}"}


class Unreadable(Exception):
    """protocol.js builds a message in a way this reader does not know."""


@dataclass
class Field:
    name: str
    always: bool  # sent whatever the arguments are
    line: int
    shapes: list[Shape] | None = None  # a nested object's possible shapes (None: a scalar)


Shape = dict[str, Field] | None  # an object's fields, or None for ``null``


@dataclass
class Sender:
    kinds: list[str]  # the message types it sends (a conditional may pick one of two)
    where: str  # "protocol.js:123 (queueJoin)"
    fields: dict[str, Field] = field(default_factory=dict)


@dataclass
class _Callable:
    name: str
    params: list[Token]  # inside the parentheses
    body: list[Token]  # inside the braces
    jsdoc: str

    @property
    def optional(self) -> set[str]:
        """The parameters the JSDoc says may be left out (and that have no default)."""
        marked = set(re.findall(r"\[(\w+)(?:=[^\]]*)?\]", self.jsdoc))
        marked |= set(re.findall(r"(\w+)\?:", self.jsdoc))
        defaults = {
            name[1]
            for name, after in zip(self.params, self.params[1:], strict=False)
            if name[0] == "name" and after[:2] == ("punct", "=")
        }
        return marked - defaults


def tokenize(source: str) -> tuple[list[Token], dict[int, str]]:
    """The tokens, and the JSDoc comment ending on each line."""
    tokens: list[Token] = []
    docs: dict[int, str] = {}
    position, line = 0, 1
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise Unreadable(
                f"protocol.js:{line}: cannot read {source[position : position + 20]!r}"
            )
        kind, text = match.lastgroup or "", match.group()
        if kind == "comment" and text.startswith("/**"):
            docs[line + text.count("\n")] = text
        elif kind == "str":
            tokens.append(("str", text[1:-1], line))
        elif kind in ("name", "num", "punct", "template"):
            tokens.append((kind, text, line))
        line += text.count("\n")
        position = match.end()
    return tokens, docs


def _close(tokens: list[Token], start: int) -> int:
    """The index of the bracket closing the one at ``start``."""
    stack: list[str] = []
    for index in range(start, len(tokens)):
        kind, text, _ = tokens[index]
        if kind != "punct":
            continue
        if text in _OPEN:
            stack.append(_OPEN[text])
        elif text in _OPEN.values():
            if not stack or stack.pop() != text:
                raise Unreadable(f"protocol.js:{tokens[index][2]}: unbalanced {text!r}")
            if not stack:
                return index
    raise Unreadable(f"protocol.js:{tokens[start][2]}: {tokens[start][1]!r} is never closed")


def _split(tokens: list[Token], separator: str = ",") -> list[list[Token]]:
    """``tokens`` cut at each top-level ``separator`` (a trailing one ignored)."""
    parts: list[list[Token]] = [[]]
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token[0] == "punct" and token[1] in _OPEN:
            end = _close(tokens, index)
            parts[-1].extend(tokens[index : end + 1])
            index = end + 1
            continue
        if token[:2] == ("punct", separator):
            parts.append([])
        else:
            parts[-1].append(token)
        index += 1
    if not parts[-1]:
        parts.pop()
    return parts


def _callables(tokens: list[Token], docs: dict[int, str]) -> list[_Callable]:
    """Top-level functions and the methods of top-level classes."""

    def jsdoc(line: int) -> str:
        return docs.get(line - 1, "")

    found: list[_Callable] = []
    index = 0
    while index < len(tokens):
        kind, text, line = tokens[index]
        if (kind, text) == ("name", "function"):
            name, params = tokens[index + 1], index + 2
            body = _close(tokens, params) + 1
            end = _close(tokens, body)
            params_ = tokens[params + 1 : body - 1]
            found.append(_Callable(name[1], params_, tokens[body + 1 : end], jsdoc(line)))
            index = end + 1
        elif (kind, text) == ("name", "class"):
            start = next(i for i in range(index, len(tokens)) if tokens[i][1] == "{")
            end = _close(tokens, start)
            member = start + 1
            while member < end:
                if tokens[member][1] in ("get", "set", "static", "async"):
                    member += 1
                    continue
                name = tokens[member]
                if name[0] != "name" or tokens[member + 1][1] != "(":
                    raise Unreadable(f"protocol.js:{name[2]}: not a method: {name[1]!r}")
                body = _close(tokens, member + 1) + 1
                close = _close(tokens, body)
                params_ = tokens[member + 2 : body - 1]
                found.append(_Callable(name[1], params_, tokens[body + 1 : close], jsdoc(name[2])))
                member = close + 1
            index = end + 1
        else:
            index += 1
    return found


class _Reader:
    def __init__(self, source: str) -> None:
        tokens, docs = tokenize(source)
        self.callables = _callables(tokens, docs)
        self.helpers = {c.name: c for c in self.callables}

    def senders(self) -> list[Sender]:
        found: list[Sender] = []
        for callable_ in self.callables:
            body = callable_.body
            for index, (kind, text, line) in enumerate(body):
                where = f"protocol.js:{line} ({callable_.name})"
                if (kind, text) == ("name", "send") and body[index + 1][1] == "(":
                    found.append(self._send_call(callable_, index, where))
                elif (kind, text) == ("name", "type") and body[index + 1][1] == ":":
                    if body[index + 2][0] == "str":
                        found.append(self._literal(callable_, index, where))
        return found

    def _send_call(self, callable_: _Callable, index: int, where: str) -> Sender:
        body = callable_.body
        if [t[1] for t in body[index - 4 : index]] != ["this", ".", "socket", "."]:
            raise Unreadable(f"{where}: a send() that is not this.socket.send()")
        args = _split(body[index + 2 : _close(body, index + 1)])
        if not 1 <= len(args) <= 2:
            raise Unreadable(f"{where}: this.socket.send() takes a type and the fields")
        fields = self._fields(callable_, args[1], where, always=True) if len(args) == 2 else {}
        return Sender(self._kinds(args[0], where), where, fields)

    def _literal(self, callable_: _Callable, index: int, where: str) -> Sender:
        """An object literal with ``type: "…"``: the message itself."""
        body = callable_.body
        start = index - 1
        if body[start][1] != "{":
            raise Unreadable(f"{where}: `type` must come first in a message literal")
        fields = self._fields(callable_, body[start : _close(body, start) + 1], where, True)
        del fields["type"]
        return Sender([body[index + 2][1]], where, fields)

    @staticmethod
    def _kinds(expression: list[Token], where: str) -> list[str]:
        """The type: a string, or ``condition ? "a" : "b"``."""
        if len(expression) == 1 and expression[0][0] == "str":
            return [expression[0][1]]
        branches = _split(expression, "?")
        if len(branches) == 2:
            choices = _split(branches[1], ":")
            if len(choices) == 2 and all(len(c) == 1 and c[0][0] == "str" for c in choices):
                return [choices[0][0][1], choices[1][0][1]]
        raise Unreadable(f"{where}: the message type must be a string (or a ? b : c of two)")

    def _fields(
        self, callable_: _Callable, expression: list[Token], where: str, always: bool
    ) -> dict[str, Field]:
        """The fields an object expression holds: ``{…}`` or ``defined({…})``."""
        words = [t[1] for t in expression]
        if words[:2] == ["defined", "("] and _close(expression, 1) == len(expression) - 1:
            return self._fields(callable_, expression[2:-1], where, always=False)
        if not words or words[0] != "{" or _close(expression, 0) != len(expression) - 1:
            raise Unreadable(f"{where}: fields must be {{…}} or defined({{…}}): {' '.join(words)}")
        fields: dict[str, Field] = {}
        for member in _split(expression[1:-1]):
            if member[0][1] == "...":
                found = self._fields(callable_, member[1:], where, always)
            elif len(member) == 1 and member[0][0] == "name":
                name, line = member[0][1], member[0][2]
                found = {name: Field(name, always and name not in callable_.optional, line)}
            elif len(member) >= 3 and member[0][0] in ("name", "str") and member[1][1] == ":":
                found = {member[0][1]: self._value(callable_, member, where, always)}
            else:
                raise Unreadable(
                    f"{where}: cannot read the member {' '.join(t[1] for t in member)}"
                )
            for name in found:
                if name in fields:
                    raise Unreadable(f"{where}: {name} is given twice")
            fields.update(found)
        return fields

    def _value(self, callable_: _Callable, member: list[Token], where: str, always: bool) -> Field:
        name, line, value = member[0][1], member[0][2], member[2:]
        words = [t[1] for t in value]
        if len(value) == 1 and value[0][0] == "name" and value[0][1] in callable_.optional:
            always = False
        shapes: list[Shape] | None = None
        if words[0] == "{":
            shapes = [self._fields(callable_, value, where, True)]
        elif words[0] in self.helpers and words[1] == "(" and _close(value, 1) == len(value) - 1:
            shapes = self._returns(self.helpers[words[0]], where)
        return Field(name, always, line, shapes)

    def _returns(self, helper: _Callable, where: str) -> list[Shape]:
        """What a helper of protocol.js returns: each ``return``'s object, or null."""
        body, shapes = helper.body, list[Shape]()
        where = f"{where} → {helper.name}()"
        for index, (kind, text, _) in enumerate(body):
            if (kind, text) != ("name", "return"):
                continue
            end = next(i for i in range(index, len(body)) if body[i][1] == ";")
            value = body[index + 1 : end]
            if [t[1] for t in value] == ["null"]:
                shapes.append(None)
            elif value and value[0][1] == "{":
                shapes.append(self._fields(helper, value, where, True))
            elif len(value) == 1 and value[0][0] == "name":
                shapes.append(self._built(helper, value[0][1], where))
            else:
                raise Unreadable(f"{where}: cannot read what it returns")
        if not shapes:
            raise Unreadable(f"{where}: returns nothing this reader can see")
        return shapes

    def _built(self, helper: _Callable, variable: str, where: str) -> dict[str, Field]:
        """A variable set to an object literal, then given fields one by one (optional)."""
        body, fields = helper.body, None
        for index, (kind, text, line) in enumerate(body):
            if kind != "name" or text != variable:
                continue
            before, after = body[index - 1][1], [t[1] for t in body[index + 1 : index + 4]]
            if before in ("const", "let") and after[:2] == ["=", "{"]:
                start = index + 2
                fields = self._fields(helper, body[start : _close(body, start) + 1], where, True)
            elif fields is not None and after[0] == "." and after[2] == "=":
                name = after[1]
                fields[name] = Field(name, False, line)
        if fields is None:
            raise Unreadable(f"{where}: {variable} is not set to an object literal")
        return fields


def senders(path: Path) -> list[Sender]:
    """Every place protocol.js builds a client message, with the fields it may hold."""
    return _Reader(path.read_text(encoding="utf-8")).senders()
