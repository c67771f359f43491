"""Parse .sciml text into the syntax tree of `sciml.frontend.ast`.

The Lark grammar (`sciml.lark`, LALR(1), positions on) is loaded once per process.  Syntax
errors become `SpecError`s with a span and a message naming what was expected.  Hostile input
is stopped before it reaches anything recursive or slow: `decode` turns a file's bytes into text
(E004: not UTF-8, a NUL byte), and `parse` refuses a spec larger than MAX_SPEC_CHARS (E006) and
an expression nested more than MAX_DEPTH levels (E005, counted on Lark's tree without recursion,
before the recursive transformer and everything after it see the tree).
"""
from __future__ import annotations

import codecs
import gc
import unicodedata
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import lark
from lark import Transformer, v_args

from sciml.frontend import ast
from sciml.frontend.diagnostics import MAX_ERRORS, Span, SpecError, error, source_lines

MAX_DEPTH = 100                 # levels of nesting in an expression (docs/language.md, Limits)
MAX_SPEC_KIB = 256    # Lark's parser takes about 2 s for this much on one core: the bound on any check
MAX_SPEC_CHARS = MAX_SPEC_KIB << 10
MAX_SPEC_BYTES = 4 * MAX_SPEC_CHARS + len(codecs.BOM_UTF8)  # what MAX_SPEC_CHARS can take in UTF-8

GRAMMAR = Path(__file__).with_name("sciml.lark")

# How tokens are named in messages.
_TOKEN_WORDS = {
    "NAME": "a name", "NUMBER": "a number", "STRING": "a quoted file name",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "LBRACE": "'{'", "RBRACE": "'}'",
    "COMMA": "','", "COLON": "':'", "SEMICOLON": "';'", "EQUAL": "'='", "PLUS": "'+'", "MINUS": "'-'",
    "STAR": "'*'", "SLASH": "'/'", "POW": "'^'", "VBAR": "'|'", "DOT": "'.'", "TILDE": "'~'",
    "TRANSPOSE": "'^T'", "$END": "the end of the file",
}
_STATEMENT_KEYWORDS = ("model", "const", "domain", "data", "state", "param", "net", "noise", "latent", "ode", "pde",
                       "sde", "initial", "boundary", "scheme", "loss", "train", "report", "flow")


@lru_cache(maxsize=1)
def parser() -> lark.Lark:
    # cache=True: the LALR tables are pickled to the temporary folder, keyed by a hash of the
    # grammar and options, so later runs skip building them (about 0.15 s of each compile)
    return lark.Lark.open(str(GRAMMAR), parser="lalr", propagate_positions=True,
                          maybe_placeholders=False, cache=True)


def parse(source: str) -> ast.Spec:
    """Return the syntax tree of `source`; raise `SpecError` on a syntax error."""
    check_size(source)
    with _no_garbage_collection():
        try:
            tree = parser().parse(source)
        except lark.UnexpectedInput as exc:
            raise SpecError([_syntax_diagnostic(exc, source)]) from None
        too_deep = _nesting_errors(tree)
        if too_deep:
            raise SpecError(too_deep)
        return _ToAst().transform(tree)


@contextmanager
def _no_garbage_collection():
    """Lark's tree and the syntax tree have no reference cycles, but the cycle collector would
    scan their millions of objects again and again while they are built (a third of the time
    of a large spec)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ---- hostile input ---------------------------------------------------------------------------

def decode(data: bytes) -> str:
    """The text of a spec file's bytes: UTF-8, a leading byte-order mark (as Windows editors
    write) dropped.  Raises `SpecError`: E004 at the first byte that is not UTF-8 or at a NUL
    byte (a binary file), E006 for bytes that hold more than MAX_SPEC_CHARS characters whatever
    they are (more than MAX_SPEC_BYTES; `parse` checks the characters of the text)."""
    if len(data) > MAX_SPEC_BYTES:
        check_size(shown_text(data))
    body = data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError([_not_utf8(body, exc.start)]) from None
    nul = text.find("\0")
    if nul >= 0:
        raise SpecError([error("E004", "the file contains a NUL byte: it is not a text file",
                               char_span(text, nul), help="is it a binary file? a spec is UTF-8 text")])
    return text


def shown_text(data: bytes) -> str:
    """The text of bytes that `decode` may reject, for quoting their lines: what is not UTF-8
    shows as U+FFFD, one character where the bad bytes start (so columns agree with E004's)."""
    body = data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data
    return body.decode("utf-8", errors="replace")


def _not_utf8(body: bytes, start: int):
    before = body[:start].decode("utf-8")
    utf16 = body[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    return error("E004", f"the file is not valid UTF-8 (byte 0x{body[start]:02x})",
                 char_span(before, len(before)),
                 help="the file looks like UTF-16: save it as UTF-8" if utf16 else
                 "save the spec as UTF-8 text (is it a binary file, or in another encoding such as Latin-1?)")


def check_size(source: str) -> None:
    """E006 for a spec of more than MAX_SPEC_CHARS characters, at the first one past the limit."""
    if len(source) > MAX_SPEC_CHARS:
        raise SpecError([error(
            "E006", f"the spec is larger than {MAX_SPEC_KIB} KiB (more than {MAX_SPEC_CHARS:,} characters)",
            char_span(source, MAX_SPEC_CHARS),
            help="a spec is a page of text; put large arrays in a data file: data d = load \"d.npz\"")])


def char_span(text: str, index: int) -> Span:
    """The span of the character at `index` of `text` (lines end at newlines only, as in Lark)."""
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return Span(line, column, line, column + 1)


def _nesting_errors(tree: lark.Tree) -> list:
    """E005 at the first expression of each statement that is nested more than MAX_DEPTH levels
    deep.  Every node of Lark's tree below the statement counts: an operator, a call, a list, and
    each term of a long sum or product (`1 + 1 + ... + 1` is a tree as deep as it is long).
    Iterative, so that a thousand `-` signs cannot exhaust Python's stack here."""
    found = []
    for statement in tree.children:
        node = _too_deep(statement)
        if node is not None:
            found.append(error(
                "E005", f"expression nested too deeply (more than {MAX_DEPTH} levels)",
                Span(node.meta.line, node.meta.column, node.meta.line, node.meta.column + 1),
                help=f"an expression has at most {MAX_DEPTH} levels of operators, calls and brackets, "
                     f"and a sum of more than {MAX_DEPTH} terms is as deep: write it shorter"))
            if len(found) > MAX_ERRORS:
                break
    return found


def _too_deep(statement: lark.Tree):
    """The first node (in written order) deeper than MAX_DEPTH below `statement`, or None."""
    stack = [(child, 1) for child in reversed(statement.children) if isinstance(child, lark.Tree)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return node
        stack.extend((c, depth + 1) for c in reversed(node.children) if isinstance(c, lark.Tree))
    return None


def _describe(token_type: str, parser_obj: lark.Lark) -> str:
    if token_type in _TOKEN_WORDS:
        return _TOKEN_WORDS[token_type]
    for terminal in parser_obj.terminals:
        if terminal.name == token_type and terminal.pattern.type == "str":
            return f"'{terminal.pattern.value}'"
    return token_type.lower()


def _syntax_diagnostic(exc: lark.UnexpectedInput, source: str):
    p = parser()
    line = getattr(exc, "line", 1) or 1
    column = getattr(exc, "column", 1) or 1
    if isinstance(exc, lark.UnexpectedCharacters):
        char = source[exc.pos_in_stream] if exc.pos_in_stream < len(source) else ""
        return error("E001", f"unexpected character {char!r}", Span(line, column, line, column + 1),
                     help=_invisible(char) if char and not char.isprintable() else
                     "names are letters, digits and '_'; operators are + - * / ^ ^T |x| and '.'")
    token = exc.token
    expected = sorted({_describe(t, p) for t in exc.expected if not t.startswith("__")})
    keywords = [e for e in expected if e.strip("'") in _STATEMENT_KEYWORDS]
    others = [e for e in expected if e not in keywords]
    hint = ", ".join(others[:8]) + (" or a new statement" if keywords else "")
    if token.type == "$END":
        last = source_lines(source.rstrip()) or ("",)
        line, column = max(1, len(last)), len(last[-1]) + 1 if last else 1
        return error("E003", "the spec ends in the middle of a statement",
                     Span(line, max(1, column - 1), line, column), help=f"expected {hint}")
    text = str(token)
    end_column = column + max(1, len(text))
    what = f"keyword '{text}'" if text in _STATEMENT_KEYWORDS else repr(text)
    return error("E002", f"unexpected {what}", Span(line, column, line, end_column),
                 help=f"expected {hint}" if hint else "")


def _invisible(char: str) -> str:
    what = unicodedata.name(char, "").lower() or "a control character"
    return (f"{what} (U+{ord(char):04X}) is not a space, tab or line break to sciml: delete it "
            "or type a space")


def _span(meta) -> Span:
    if getattr(meta, "empty", True):
        return Span.unknown()
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _tok_span(token) -> Span:
    return Span(token.line, token.column, token.end_line, token.end_column)


@v_args(meta=True)
class _ToAst(Transformer):
    """Parse tree → `ast` nodes.  One method per grammar rule or alias."""

    # expressions
    def number(self, meta, c):
        return ast.Number(text=str(c[0]), span=_span(meta))

    def name(self, meta, c):
        return ast.Name(id=str(c[0]), span=_span(meta))

    def _bin(op):
        def method(self, meta, c):
            return ast.BinOp(op=op, left=c[0], right=c[1], span=_span(meta))
        return method

    add, sub, mul, div = _bin("+"), _bin("-"), _bin("*"), _bin("/")

    def pow(self, meta, c):
        return ast.BinOp(op="^", left=c[0], right=c[2], span=_span(meta))

    def neg(self, meta, c):
        return ast.Neg(operand=c[0], span=_span(meta))

    def transpose(self, meta, c):
        return ast.Transpose(operand=c[0], span=_span(meta))

    def attribute(self, meta, c):
        return ast.Attribute(base=c[0], name=str(c[1]), span=_span(meta))

    def index(self, meta, c):
        return ast.Index(base=c[0], indices=tuple(c[1:]), span=_span(meta))

    def norm(self, meta, c):
        return ast.Norm(operand=c[0], span=_span(meta))

    def list(self, meta, c):
        return ast.ListLiteral(items=tuple(c), span=_span(meta))

    def arrows(self, meta, c):
        return ast.Arrows(items=tuple(c), span=_span(meta))

    def initial_ref(self, meta, c):
        return ast.SectionRef(section="initial", span=_span(meta))

    def boundary_ref(self, meta, c):
        return ast.SectionRef(section="boundary", span=_span(meta))

    def initial_keyword(self, meta, c):
        return ast.Keyword(name="initial", value=c[0], span=_span(meta))

    def boundary_keyword(self, meta, c):
        return ast.Keyword(name="boundary", value=c[0], span=_span(meta))

    def keyword_or_equation(self, meta, c):
        lhs, rhs = c
        if isinstance(lhs, ast.Name):
            return ast.Keyword(name=lhs.id, value=rhs, span=_span(meta))
        return ast.Equation(lhs=lhs, rhs=rhs, span=_span(meta))

    def call(self, meta, c):
        return ast.Call(func=str(c[0]), args=tuple(c[1:]), span=_span(meta), func_span=_tok_span(c[0]))

    def call_of_call(self, meta, c):
        return ast.CallOfCall(inner=c[0], args=tuple(c[1:]), span=_span(meta))

    def equation(self, meta, c):
        return ast.Equation(lhs=c[0], rhs=c[1], span=_span(meta))

    # statements
    def start(self, meta, c):
        return ast.Spec(statements=tuple(c), span=_span(meta))

    def model_stmt(self, meta, c):
        if len(c) > 1:
            return ast.ModelStmt(name=str(c[0]), kind=str(c[1]), kind_span=_tok_span(c[1]), span=_span(meta))
        return ast.ModelStmt(name=str(c[0]), span=_span(meta))

    def noise_stmt(self, meta, c):
        return ast.NoiseStmt(declarations=tuple(c), span=_span(meta))

    def latent_stmt(self, meta, c):
        return ast.LatentStmt(declarations=tuple(c), span=_span(meta))

    def index_range(self, meta, c):
        return ast.Interval(name=str(c[0]), low=c[1], high=c[2], span=_span(meta))

    def with_clause(self, meta, c):
        return ("with", tuple(c))

    def binding(self, meta, c):
        return ast.Binding(name=str(c[0]), value=c[1], span=_span(meta))

    def const_stmt(self, meta, c):
        return ast.ConstStmt(bindings=tuple(c), span=_span(meta))

    def interval(self, meta, c):
        return ast.Interval(name=str(c[0]), low=c[1], high=c[2], span=_span(meta))

    def domain_stmt(self, meta, c):
        return ast.DomainStmt(intervals=tuple(c), span=_span(meta))

    def generate(self, meta, c):
        return ("generate", c[0])

    def load(self, meta, c):
        return ("load", str(c[0])[1:-1])

    def data_stmt(self, meta, c):
        kind, value = c[1]
        if kind == "generate":
            return ast.DataStmt(name=str(c[0]), kind=kind, call=value, span=_span(meta))
        return ast.DataStmt(name=str(c[0]), kind=kind, path=value, span=_span(meta))

    def time_dependence(self, meta, c):
        return str(c[0])

    def type(self, meta, c):
        return ast.TypeExpr(base=str(c[0]), dims=tuple(c[1:]), span=_span(meta))

    def init_draw(self, meta, c):
        return ("draw", c[0])

    def init_value(self, meta, c):
        return ("value", c[0])

    def declaration(self, meta, c):
        name, rest = str(c[0]), list(c[1:])
        time_dependent = rest.pop(0) if rest and isinstance(rest[0], str) else None
        type_ = rest.pop(0)
        draw = value = None
        if rest:
            kind, payload = rest[0]
            draw, value = (payload, None) if kind == "draw" else (None, payload)
        return ast.Declaration(name=name, time_dependent=time_dependent, type=type_, init_draw=draw,
                               init_value=value, span=_span(meta))

    def state_stmt(self, meta, c):
        return ast.StateStmt(declarations=tuple(c), span=_span(meta))

    def param_stmt(self, meta, c):
        return ast.ParamStmt(declarations=tuple(c), span=_span(meta))

    def net_head(self, meta, c):
        return ast.NetHead(name=str(c[0]), inputs=tuple(str(x) for x in c[1:]), span=_span(meta))

    def net_stmt(self, meta, c):
        index = c.pop() if isinstance(c[-1], ast.Interval) else None
        return ast.NetStmt(heads=tuple(c[:-1]), body=c[-1], index=index, span=_span(meta))

    def equation_kind(self, meta, c):
        return str(c[0])

    def equation_stmt(self, meta, c):
        options = c.pop()[1] if isinstance(c[-1], tuple) else ()
        return ast.EquationStmt(kind=c[0], equations=tuple(c[1:]), options=options, span=_span(meta))

    def scheme_stmt(self, meta, c):
        return ast.SchemeStmt(call=c[0], span=_span(meta))

    def loss_stmt(self, meta, c):
        return ast.LossStmt(expr=c[0], span=_span(meta))

    def train_stmt(self, meta, c):
        return ast.TrainStmt(stages=tuple(c), span=_span(meta))

    def named_report(self, meta, c):
        return ast.NamedReport(name=str(c[0]), expr=c[1], span=_span(meta))

    def report_stmt(self, meta, c):
        options = c.pop()[1] if isinstance(c[-1], tuple) else ()
        return ast.ReportStmt(items=tuple(c), options=options, span=_span(meta))

    def flow_stmt(self, meta, c):
        return ast.FlowStmt(name=str(c[0]), index=str(c[1]), low=c[2], high=c[3], body=tuple(c[4:]),
                            span=_span(meta))
