r"""Names and messages made safe to print where people read them.

File names come from outside: a name may hold a newline (and forge a line
of the run summary), a carriage return or a terminal escape sequence (and
rewrite what the terminal shows), or a bidirectional override (and show
``exe.csv`` for ``vsc.exe``). Text that Python does not consider printable
is shown as a Python string literal instead, so every such character is
visible as an escape (``'stock\n  done: forged.csv'``) and the text stays on
one line; ordinary names, including non-ASCII ones, print unchanged.
"""

from __future__ import annotations


def printable(text: object) -> str:
    """``text`` as it is when every character is printable, else as an escaped, quoted literal."""
    value = str(text)
    return value if value.isprintable() else repr(value)
