"""Every piece of text from outside the compiler that reaches an emitted module goes through here.

The spec's file name, data paths, names, spec lines quoted in comments, messages: any of them
may hold a line break (a file may be named "a\\nimport os"), a quote or a backslash.  Written
into a comment or a docstring unescaped, a line break ends the comment and the rest of the
line is code that runs on import.  Three ways in, one rule (`one_line`) underneath:

    comment(text)     the text of a `# ...` comment: one line, nothing unprintable
    docstring(text)   text inside a triple-quoted docstring: one line, no quote, no escape
    literal(value)    a Python literal of a string (or of a tuple/dict of them): repr

"One line" means no character that any reader takes for a line break: not only \\n and \\r,
but \\f, \\v, \\x1c-\\x1e, \\x85, U+2028 and U+2029 (str.splitlines), nor anything else that is
not printable (controls, bidirectional overrides, lone surrogates).  Each such character is
written as its escape (\\n, \\x85, \\u2028), so the comment still says what the name was.
"""
from __future__ import annotations


def one_line(text: str) -> str:
    """`text` with every unprintable character (line breaks of every kind included) written as
    its backslash escape; printable text (Unicode letters too) is kept as it is."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for c in str(text))


def comment(text: str) -> str:
    """The text of a comment: one line (see one_line)."""
    return one_line(text)


def docstring(text: str) -> str:
    """Text to write inside a triple-quoted docstring: one line, and no backslash or double quote
    that would end the string or start an escape (both are escaped, so the value reads as the
    comment would)."""
    return one_line(text).replace("\\", "\\\\").replace('"', '\\"')


def literal(value) -> str:
    """A Python literal: repr, which escapes quotes, backslashes and every unprintable character
    of a string, so a literal is always one line of one token."""
    return repr(value)
