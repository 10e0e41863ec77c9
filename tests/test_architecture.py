"""The house rules, checked on the source: which package may import which, and how long a
module may grow before it says why (README, "Architecture")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "storage", "web")
LONG_MODULE = 400
# A module over LONG_MODULE lines says why in its docstring, in a line starting with this.
LONG_REASON = "Why one module:"

# (importer prefix, forbidden import prefixes): arrows point one way.
FORBIDDEN = [
    ("bot", ("web", "storage", "aiohttp", "socketio", "tinydb", "aiosmtplib")),
    ("storage", ("web", "bot")),
    # The application layer knows nothing of HTTP or Socket.IO, nor of the sides that call it.
    ("web.desk", ("web.http", "web.student", "web.console", "web.app", "web.cluster", "aiohttp",
                  "socketio", "redis")),
    ("web.http", ("web.student", "web.console", "web.app", "web.cluster", "redis")),
    ("web.student", ("web.console", "web.app", "web.cluster", "redis")),
    ("web.console", ("web.student", "web.app", "web.cluster", "redis")),
    # Operations watch the service from outside: they read the desk, never a side.
    ("web.ops", ("web.student", "web.console")),
    # Redis's homes for the application layer's protocols: they know no side and no HTTP.
    ("web.cluster", ("web.http", "web.student", "web.console", "web.app", "web.ops", "aiohttp")),
]


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found.append((name, path))
    return found


def imports_of(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing package
                base = module.split(".")[: -node.level]
                prefix = ".".join([*base, node.module] if node.module else base)
            else:
                prefix = node.module or ""
            names.add(prefix)
            # `from web import console` imports web.console
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return names


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def wrong_arrows(module: str, imported: set[str]) -> list[str]:
    return [
        f"{module} imports {name}"
        for importer, forbidden in FORBIDDEN
        if within(module, importer)
        for name in sorted(imported)
        for banned in forbidden
        if within(name, banned)
    ]


def test_arrows_point_one_way() -> None:
    problems = [
        problem
        for module, path in modules()
        for problem in wrong_arrows(module, imports_of(path, module))
    ]
    assert problems == []


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("web.desk.tickets", {"aiohttp", "aiohttp.web"}),
        ("web.student.chat", {"web.console.namespace"}),
        ("web.desk.limits", {"redis.asyncio"}),
        ("web.console.tickets", {"web.student", "web.student.api"}),
        ("bot.engine", {"storage"}),
    ],
)
def test_a_wrong_arrow_is_caught(module: str, imported: set[str]) -> None:
    assert wrong_arrows(module, imported)


def test_a_long_module_says_why() -> None:
    unexplained = []
    for module, path in modules():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > LONG_MODULE and LONG_REASON not in (
            ast.get_docstring(ast.parse(text)) or ""
        ):
            unexplained.append(f"{module}: {text.count(chr(10))} lines")
    assert unexplained == []


def test_readme_names_every_setting_the_code_reads() -> None:
    """IT learns the settings from README.md's table: a variable the code reads and the table
    does not name is one they cannot find."""
    read = {
        name
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        for name in re.findall(r"HELPDESK_[A-Z_]+[A-Z]", path.read_text(encoding="utf-8"))
    }
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert read, "no setting found: the pattern no longer matches the code"
    assert sorted(n for n in read if f"`{n}`" not in readme) == []
