"""The sandbox campaign templates run in: bounded in what they build, write and take in time.

Marketers write templates; the delivery worker renders them for every recipient. On top of
Jinja2's :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` (no internals, no mutation of
lists and dicts), :class:`BoundedSandbox` makes sure no template can exhaust a process:

* **Values.** No string, list or dict a template builds holds more than :data:`MAX_VALUE`
  characters or items, and no number more than :data:`MAX_INT_BITS` bits. Operations that
  could build a large value from small ones are checked *before* they run, because CPython
  cannot interrupt one huge multiplication: ``*``, ``+``, ``**``, ``~``, and the filters and
  string methods that replace or join. Padding and formatting (``center``, ``format``,
  ``%``, ``str.format``…) are not offered at all.
* **Writing.** Every piece of text a template writes — into its output, a variable, a macro
  or a filter block — is counted against the :class:`Budget` of the render.
* **Time.** Every loop iteration, call, operator, filter and write checks the deadline of the
  render, so nested loops that write nothing stop too.

Only the filters in :data:`FILTERS` exist, and templates cannot include, import or extend
others. Templates are compiled only through :meth:`BoundedSandbox.compile_template`, which
adds the loop, concatenation and writing checks to the parsed template.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import Template, nodes, pass_context, pass_eval_context
from jinja2.defaults import DEFAULT_FILTERS
from jinja2.exceptions import SecurityError, TemplateAssertionError
from jinja2.filters import make_attrgetter
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer
from markupsafe import soft_str

#: The most characters (or items) of any string, list or dict a template builds.
MAX_VALUE = 100_000
#: The largest number a template builds, in bits (about 1,200 decimal digits).
MAX_INT_BITS = 4_096
#: The filters templates may use, by kind; none of them pads, repeats or formats.
FILTERS = frozenset().union(
    {"capitalize", "lower", "title", "upper", "trim", "truncate", "wordcount", "wordwrap"},
    {"e", "escape", "forceescape", "safe", "string", "striptags", "urlencode", "urlize"},
    {"d", "default", "replace", "join", "first", "last", "length", "count", "list", "sort"},
    {"reverse", "unique", "min", "max", "map", "select", "reject", "selectattr", "rejectattr"},
    {"groupby", "attr", "items", "dictsort", "abs", "float", "int", "round", "filesizeformat"},
)
#: Methods of built-in values a template may call (``first_name.upper()``); none pads.
METHODS = frozenset().union(
    {"capitalize", "casefold", "lower", "swapcase", "title", "upper", "striptags", "unescape"},
    {"strip", "lstrip", "rstrip", "removeprefix", "removesuffix", "replace", "join"},
    {"split", "rsplit", "splitlines", "partition", "rpartition", "startswith", "endswith"},
    {"count", "find", "rfind", "index", "rindex", "get", "items", "keys", "values"},
    {"isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "islower", "isnumeric"},
    {"isspace", "istitle", "isupper"},
)
_BUILT_IN = (str, bytes, list, tuple, dict, set, frozenset, int, float)
_SIZED = (str, bytes, list, tuple, dict, set, frozenset)
#: Internal filters the compiler inserts (see :class:`_Bounding`).
_LOOP, _CONCAT, _WRITE = "_bounded_loop", "_bounded_concat", "_bounded_write"


class LimitExceeded(SecurityError):
    """A template went past a limit; the message completes "Template <part> …"."""


@dataclass
class Budget:
    """What one render may still spend: time until ``deadline``, ``write_limit`` characters."""

    deadline: float
    write_limit: int
    written: int = 0

    def check_time(self) -> None:
        """Stop the render once its deadline has passed."""
        if time.monotonic() > self.deadline:
            raise LimitExceeded("takes too long to render")

    def write(self, size: int) -> None:
        """Count ``size`` characters written; stop past the limit or the deadline."""
        self.written += size
        if self.written > self.write_limit:
            raise LimitExceeded(f"writes more than {self.write_limit:,} characters")
        self.check_time()


_budget: ContextVar[Budget | None] = ContextVar("template_budget", default=None)


@contextmanager
def budget(deadline: float, write_limit: int) -> Iterator[Budget]:
    """Render under a :class:`Budget` (for this thread or task only)."""
    token = _budget.set(Budget(deadline, write_limit))
    try:
        yield _budget.get()
    finally:
        _budget.reset(token)


def _tick() -> None:
    current = _budget.get()
    if current is not None:
        current.check_time()


def _refuse_over(size: int) -> None:
    if size > MAX_VALUE:
        raise LimitExceeded(f"builds a value of more than {MAX_VALUE:,} characters or items")


def _refuse_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise LimitExceeded(f"builds a number of more than {MAX_INT_BITS:,} bits")


def check_size(value: Any) -> Any:
    """``value`` itself, unless it is larger than a template may build."""
    if isinstance(value, _SIZED):
        _refuse_over(len(value))
    elif isinstance(value, int):
        _refuse_bits(value.bit_length())
    return value


def _check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``left operator right`` before running it when its result would be too large."""
    if operator == "%" and isinstance(left, str):
        raise LimitExceeded("uses % formatting, which templates do not offer (join with ~)")
    sequences = (str, list, tuple)
    if operator == "*":
        if isinstance(left, int) and isinstance(right, int):
            _refuse_bits(abs(left).bit_length() + abs(right).bit_length())
        elif isinstance(left, sequences) and isinstance(right, int):
            _refuse_over(len(left) * right)
        elif isinstance(right, sequences) and isinstance(left, int):
            _refuse_over(len(right) * left)
    elif operator == "**" and isinstance(left, int) and isinstance(right, int):
        if right > 0 and left not in (-1, 0, 1):  # the result has at least this many bits
            _refuse_bits((abs(left).bit_length() - 1) * right + 1)
    elif operator == "+" and isinstance(left, sequences) and isinstance(right, sequences):
        _refuse_over(len(left) + len(right))


def _check_replace(text: Any, old: Any, new: Any, count: Any = None) -> None:
    """Refuse a replacement whose result would be too large (``''`` matches everywhere)."""
    text, old, new = soft_str(text), soft_str(old), soft_str(new)
    found = text.count(old)
    if isinstance(count, int) and 0 <= count < found:
        found = count
    _refuse_over(len(text) + found * max(0, len(new) - len(old)))


def _check_join(items: list, separator: Any) -> None:
    separator_size = len(soft_str(separator)) * max(0, len(items) - 1)
    _refuse_over(sum(len(soft_str(item)) for item in items) + separator_size)


@pass_eval_context
def _replace(eval_ctx: EvalContext, value: Any, old: Any, new: Any, count: Any = None) -> Any:
    """Jinja's ``replace`` filter, refused when the result would be too large."""
    _check_replace(value, old, new, count)
    return DEFAULT_FILTERS["replace"](eval_ctx, value, old, new, count)


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Iterable, d: str = "", attribute: Any = None) -> Any:
    """Jinja's ``join`` filter, refused when the result would be too large."""
    items = list(value)
    if attribute is not None:
        items = list(map(make_attrgetter(eval_ctx.environment, attribute), items))
    _check_join(items, d)
    return DEFAULT_FILTERS["join"](eval_ctx, items, d)


def _bounded(function: Any) -> Any:
    """``function`` (a filter) checking the deadline first and the size of what it returns."""

    def bounded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        return check_size(function(*args, **kwargs))

    if hasattr(function, "jinja_pass_arg"):
        bounded.jinja_pass_arg = function.jinja_pass_arg  # type: ignore[attr-defined]
    return bounded


@pass_context
def _bounded_loop(_context: Context, iterable: Iterable) -> Iterator:
    """The items of a ``for`` loop, checking the deadline at each one."""
    for item in iterable:
        _tick()
        yield item


@pass_context
def _bounded_concat(context: Context, parts: list) -> Any:
    """``a ~ b ~ c``, refused before joining when the result would be too large."""
    texts = [soft_str(part) for part in parts]
    _refuse_over(sum(map(len, texts)))
    joined = markup_join(texts) if context.eval_ctx.autoescape else str_join(texts)
    return check_size(joined)


@pass_context
def _bounded_write(_context: Context, value: Any) -> Any:
    """Count what a template writes (output, variables, macros, filter blocks)."""
    current = _budget.get()
    if current is not None:
        current.write(len(value) if isinstance(value, str) else len(soft_str(value)))
    return value


def _internal(node: nodes.Expr, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class _Bounding(NodeTransformer):
    """Adds the checks to a parsed template: loops, ``~`` and writes go through them."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        """Iterate through :func:`_bounded_loop`."""
        self.generic_visit(node)
        node.iter = _internal(node.iter, _LOOP)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Filter:
        """Join through :func:`_bounded_concat`."""
        self.generic_visit(node)
        return _internal(nodes.List(node.nodes, lineno=node.lineno), _CONCAT)

    def visit_Output(self, node: nodes.Output) -> nodes.Output:
        """Write every piece, literal text included, through :func:`_bounded_write`."""
        self.generic_visit(node)
        node.nodes = [
            _internal(
                nodes.MarkSafeIfAutoescape(nodes.Const(child.data), lineno=child.lineno)
                if isinstance(child, nodes.TemplateData)
                else child,
                _WRITE,
            )
            for child in node.nodes
        ]
        return node


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with the limits described in this module."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        """The sandbox with :data:`FILTERS` only and no ``lipsum`` (it writes at will)."""
        super().__init__(**options)
        self.globals.pop("lipsum", None)
        filters = {name: DEFAULT_FILTERS[name] for name in FILTERS}
        filters.update(replace=_replace, join=_join)
        self.filters = {name: _bounded(function) for name, function in filters.items()}
        self.filters.update(
            {_LOOP: _bounded_loop, _CONCAT: _bounded_concat, _WRITE: _bounded_write}
        )

    def compile_template(self, source: str) -> Template:
        """Parse ``source``, refuse what templates may not use, add the checks and compile."""
        ast = self.parse(source)
        self._refuse_unsupported(ast)
        bounded = _Bounding().visit(ast)
        bounded.set_environment(self)
        return self.from_string(bounded)

    def _refuse_unsupported(self, ast: nodes.Template) -> None:
        for node in ast.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
            raise TemplateAssertionError(
                "Templates cannot include, import or extend other templates.", node.lineno
            )
        for node in ast.find_all(nodes.Filter):
            if node.name not in FILTERS:
                raise TemplateAssertionError(f"No filter named {node.name!r}.", node.lineno)
        for node in ast.find_all(nodes.Test):
            if node.name not in self.tests:
                raise TemplateAssertionError(f"No test named {node.name!r}.", node.lineno)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """``*``, ``**``, ``+`` and ``%``, refused before running when too large."""
        _tick()
        _check_binop(operator, left, right)
        return check_size(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value: Any) -> None:
        """``str.format`` is not offered (it pads at will); calling it is refused."""
        if getattr(value, "__name__", None) in ("format", "format_map") and isinstance(
            getattr(value, "__self__", None), str
        ):
            raise SecurityError("templates cannot call str.format")
        return None

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Call ``__obj`` from a template: methods of built-in values only from :data:`METHODS`,
        replacing and joining checked first; the result is checked too."""
        _tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, _BUILT_IN):
            name = getattr(__obj, "__name__", "")
            if name not in METHODS:
                raise SecurityError(f"templates cannot call the method {name!r}")
            if name == "replace" and len(args) >= 2:
                _check_replace(owner, *args[:3])
            if name == "join" and args:
                args = (list(args[0]),)
                _check_join(args[0], owner)
        return check_size(super().call(__context, __obj, *args, **kwargs))
