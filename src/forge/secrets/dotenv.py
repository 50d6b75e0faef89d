"""A small, strict dotenv reader for imports. Errors name the line, never its content (a
line may hold a value)."""

from __future__ import annotations

from forge.errors import ValidationFailed

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


def _fail(line: int, problem: str) -> ValidationFailed:
    return ValidationFailed(f"dotenv: line {line}: {problem}", param="dotenv")


def _double_quoted(raw: str, line: int) -> str:
    out: list[str] = []
    i = 1
    while i < len(raw):
        char = raw[i]
        if char == '"':
            rest = raw[i + 1 :].strip()
            if rest and not rest.startswith("#"):
                raise _fail(line, "unexpected text after the closing quote")
            return "".join(out)
        if char == "\\" and i + 1 < len(raw):
            out.append(_ESCAPES.get(raw[i + 1], "\\" + raw[i + 1]))
            i += 2
            continue
        out.append(char)
        i += 1
    raise _fail(line, "unterminated double quote")


def _value(raw: str, line: int) -> str:
    raw = raw.strip()
    if raw.startswith('"'):
        return _double_quoted(raw, line)
    if raw.startswith("'"):
        end = raw.find("'", 1)
        if end < 0:
            raise _fail(line, "unterminated single quote")
        rest = raw[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise _fail(line, "unexpected text after the closing quote")
        return raw[1:end]
    comment = raw.find(" #")
    return (raw[:comment] if comment >= 0 else raw).strip()


def parse(text: str) -> list[tuple[int, str, str]]:
    """(line number, name, value) in file order; blank lines and `#` comments skipped, an
    `export ` prefix allowed, a name given twice refused."""
    found: list[tuple[int, str, str]] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        name, sep, raw = stripped.partition("=")
        name = name.strip()
        if not sep or not name:
            raise _fail(number, "expected NAME=value")
        if name in seen:
            raise _fail(number, f"{name} appears more than once")
        seen.add(name)
        found.append((number, name, _value(raw, number)))
    return found
