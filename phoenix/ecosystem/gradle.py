"""Gradle plugins applied by a build script, and the tasks each known plugin adds.

Read from the script's text, never by running Gradle (which needs a JVM and usually a network):
the `plugins { }` block in Groovy or Kotlin DSL and legacy `apply plugin:` lines.  `discover.py`
turns the tasks into commands.
"""

from __future__ import annotations

import re

_GRADLE_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
_GRADLE_PLUGINS_BLOCK = re.compile(r"\bplugins\s*\{")
_GRADLE_ID = re.compile(r"""\bid\s*\(?\s*["']([\w.\-]+)["']""")
_GRADLE_KOTLIN = re.compile(r"""\bkotlin\s*\(\s*["']([\w.\-]+)["']\s*\)""")
_GRADLE_BARE = re.compile(r"^\s*`?([\w\-]+)`?\s*(?:version\b.*)?$", re.MULTILINE)
_GRADLE_APPLY = re.compile(r"""\bapply\s*\(?\s*plugin\s*[:=]\s*["']([\w.\-]+)["']""")

_GRADLE_BASE_TASKS = ("build", "assemble", "check", "clean")
_GRADLE_JAVA_TASKS = (*_GRADLE_BASE_TASKS, "classes", "jar", "test", "javadoc")
GRADLE_PLUGIN_TASKS: dict[str, tuple[str, ...]] = {
    "base": _GRADLE_BASE_TASKS,
    "java": _GRADLE_JAVA_TASKS,
    "java-library": _GRADLE_JAVA_TASKS,
    "groovy": _GRADLE_JAVA_TASKS,
    "scala": _GRADLE_JAVA_TASKS,
    "org.jetbrains.kotlin.jvm": _GRADLE_JAVA_TASKS,
    "application": (*_GRADLE_JAVA_TASKS, "run", "installDist", "distZip"),
    "war": (*_GRADLE_JAVA_TASKS, "war"),
    "org.springframework.boot": ("bootRun", "bootJar"),
}
"""Tasks each known plugin adds.  Plugins outside this table (and version-catalog `alias(...)`
entries, which need the catalog to resolve) add tasks we cannot name, so none are claimed."""


def gradle_plugins(script: str) -> list[str]:
    """Plugin ids applied by a Groovy or Kotlin build script: the `plugins { }` block (`id 'java'`,
    `id("application")`, bare `java`, `kotlin("jvm")`) and legacy `apply plugin: 'java'` lines."""
    script = _GRADLE_COMMENTS.sub("", script)
    plugins: list[str] = []
    for match in _GRADLE_PLUGINS_BLOCK.finditer(script):
        block = _braced(script, match.end())
        plugins += _GRADLE_ID.findall(block)
        plugins += [f"org.jetbrains.kotlin.{m}" for m in _GRADLE_KOTLIN.findall(block)]
        plugins += [m for m in _GRADLE_BARE.findall(block) if m in GRADLE_PLUGIN_TASKS]
    plugins += _GRADLE_APPLY.findall(script)
    return list(dict.fromkeys(plugins))


def _braced(text: str, start: int) -> str:
    """The text from `start` to the brace that closes the one just before it."""
    depth = 1
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start:index]
    return text[start:]
