"""The sandbox campaign templates run in: bounded in what they build, write and take in time.

Marketers write templates; the delivery worker renders them for every recipient. On top of
Jinja2's :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` (no internals, no mutation of
lists and dicts), :class:`BoundedSandbox` makes sure no template can exhaust a process:

* **Values.** No string, list or dict a template builds holds more than
  :data:`~app.campaigns.limits.MAX_VALUE` characters or items, and no number more than
  :data:`~app.campaigns.limits.MAX_INT_BITS` bits. Operations that
  could build a large value from small ones are checked *before* they run, because CPython
  cannot interrupt one huge multiplication: ``*``, ``+``, ``**``, ``~``, and the filters and
  string methods that replace or join. Padding and formatting (``center``, ``format``,
  ``%``, ``str.format``…) are not offered at all.
* **Writing.** Every piece of text a template writes — into its output, a variable, a macro
  or a filter block — is counted against the :class:`~app.campaigns.limits.Budget` of the
  render.
* **Time.** Every loop iteration, call, operator, filter and write checks the deadline of the
  render, so nested loops that write nothing stop too.

Only the filters in :data:`FILTERS` exist, and templates cannot include, import or extend
others. Templates are compiled only through :meth:`BoundedSandbox.compile_template`, which
adds the loop, concatenation and writing checks to the parsed template.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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

from app.campaigns.limits import (
    check_binop,
    check_join,
    check_replace,
    check_size,
    refuse_over,
    tick,
    wrote,
)

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
#: Internal filters the compiler inserts (see :class:`_Bounding`).
_LOOP, _CONCAT, _WRITE = "_bounded_loop", "_bounded_concat", "_bounded_write"


@pass_eval_context
def _replace(eval_ctx: EvalContext, value: Any, old: Any, new: Any, count: Any = None) -> Any:
    """Jinja's ``replace`` filter, refused when the result would be too large."""
    check_replace(value, old, new, count)
    return DEFAULT_FILTERS["replace"](eval_ctx, value, old, new, count)


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Iterable, d: str = "", attribute: Any = None) -> Any:
    """Jinja's ``join`` filter, refused when the result would be too large."""
    items = list(value)
    if attribute is not None:
        items = list(map(make_attrgetter(eval_ctx.environment, attribute), items))
    check_join(items, d)
    return DEFAULT_FILTERS["join"](eval_ctx, items, d)


def _bounded(function: Any) -> Any:
    """``function`` (a filter) checking the deadline first and the size of what it returns."""

    def bounded(*args: Any, **kwargs: Any) -> Any:
        tick()
        return check_size(function(*args, **kwargs))

    if hasattr(function, "jinja_pass_arg"):
        bounded.jinja_pass_arg = function.jinja_pass_arg  # type: ignore[attr-defined]
    return bounded


@pass_context
def _bounded_loop(_context: Context, iterable: Iterable) -> Iterator:
    """The items of a ``for`` loop, checking the deadline at each one."""
    for item in iterable:
        tick()
        yield item


@pass_context
def _bounded_concat(context: Context, parts: list) -> Any:
    """``a ~ b ~ c``, refused before joining when the result would be too large."""
    texts = [soft_str(part) for part in parts]
    refuse_over(sum(map(len, texts)))
    joined = markup_join(texts) if context.eval_ctx.autoescape else str_join(texts)
    return check_size(joined)


@pass_context
def _bounded_write(_context: Context, value: Any) -> Any:
    """Count what a template writes (output, variables, macros, filter blocks)."""
    wrote(len(value) if isinstance(value, str) else len(soft_str(value)))
    return value


def _internal(node: nodes.Expr, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class _Bounding(NodeTransformer):
    """Adds the checks to a parsed template: loops, ``~`` and writes go through them."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        """Iterate through :func:`_bounded_loop`."""
        self.generic_visit(node)
        node.iter = _internal(node.iter, _LOOP)  # type: ignore[arg-type]  # Jinja types iter as Node
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
        for used in ast.find_all(nodes.Filter):
            if used.name not in FILTERS:
                raise TemplateAssertionError(f"No filter named {used.name!r}.", used.lineno)
        for test in ast.find_all(nodes.Test):
            if test.name not in self.tests:
                raise TemplateAssertionError(f"No test named {test.name!r}.", test.lineno)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """``*``, ``**``, ``+`` and ``%``, refused before running when too large."""
        tick()
        check_binop(operator, left, right)
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
        tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, _BUILT_IN):
            name = getattr(__obj, "__name__", "")
            if name not in METHODS:
                raise SecurityError(f"templates cannot call the method {name!r}")
            if name == "replace" and len(args) >= 2:
                check_replace(owner, *args[:3])
            if name == "join" and args:
                args = (list(args[0]),)
                check_join(args[0], owner)
        return check_size(super().call(__context, __obj, *args, **kwargs))
