"""Changing a few front matter keys of an entry file in place, for the editor's desk.

The Markdown files stay the source of truth, so a change made in the browser must look
like one an editor made by hand: the other keys keep their order, quoting and comments,
the body is untouched byte for byte, and a git diff shows only the lines that changed.
A round-trip parser does that: ruamel.yaml for YAML (`---`) front matter, tomlkit for
TOML (`+++`). This module is the only importer of both.

Every write is guarded:
- the path must resolve to a `*.md` file inside the entries folder (no `..`, no symlink
  pointing out of it);
- the file must be the one the page showed: its stamp (modification time and content
  hash) is compared, and a file edited meanwhile is refused, never overwritten;
- the new text must still read as an entry (checked by the caller's `validate`), and it
  replaces the file atomically, so a failure at any step leaves the file as it was.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from digest.atomic import write_atomic
from digest.errors import DigestError

DELETE = object()
"""A change value that removes the key."""


class FrontMatterError(DigestError):
    """The change cannot be written; the file was left as it was."""


class ConflictError(FrontMatterError):
    """The file changed on disk since the page read it."""


def stamp_of(data: bytes, mtime_ns: int) -> str:
    """What the page carries to prove it saw this version of the file."""
    return f"{mtime_ns}-{hashlib.sha256(data).hexdigest()[:20]}"


def file_stamp(path: Path) -> str:
    data = path.read_bytes()
    return stamp_of(data, path.stat().st_mtime_ns)


def entry_path(root: Path, name: str) -> Path:
    """The entry file `name` inside `root`, resolved; refuses anything that leaves it."""
    base = root.resolve()
    if not name or "/" in name or "\\" in name or name.startswith(".") or "\0" in name:
        raise FrontMatterError(f"{name!r}: not an entry file name")
    if not name.endswith(".md"):
        raise FrontMatterError(f"{name}: not a Markdown entry (*.md)")
    path = (base / name).resolve()
    if path.parent != base:
        raise FrontMatterError(f"{name}: resolves outside the entries folder {base}")
    if not path.is_file():
        raise FrontMatterError(f"{name}: no such entry file in {base}")
    return path


def _indents(header: str) -> tuple[int, int]:
    """(mapping indent, dash offset) the file already uses, so that re-emitting it does
    not re-indent lines nobody changed; 2 and 2 (`  - item`) when it shows neither."""
    mapping = offset = None
    for line in header.splitlines():
        dash = re.match(r"^( *)- ", line)
        if dash and offset is None:
            offset = len(dash.group(1))
        elif not dash and mapping is None:
            nested = re.match(r"^( +)[^\s#]", line)
            if nested:
                mapping = len(nested.group(1))
    return mapping or 2, 2 if offset is None else offset


def _yaml(header: str) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long title or summary
    mapping, offset = _indents(header)
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    return yaml


def _split(text: str, name: str) -> tuple[str, str, str, str]:
    """(fence line, header, closing fence line, body) of an entry file."""
    lines = text.splitlines(keepends=True)
    fence = lines[0].strip() if lines else ""
    if fence not in {"---", "+++"}:
        raise FrontMatterError(f"{name}: missing front matter (start the file with --- or +++)")
    for index in range(1, len(lines)):
        if lines[index].strip() == fence:
            header = "".join(lines[1:index])
            return lines[0], header, lines[index], "".join(lines[index + 1 :])
    raise FrontMatterError(f"{name}: front matter is not closed by {fence}")


def _assign_yaml(meta: CommentedMap, key: str, value: Any) -> None:
    """Set `key`, reusing an existing list or mapping so its style and comments stay."""
    if value is DELETE:
        meta.pop(key, None)
        return
    current = meta.get(key)
    if isinstance(value, list) and isinstance(current, CommentedSeq):
        for index, item in enumerate(value):  # item by item: comments stay on their lines
            if index < len(current):
                current[index] = item
            else:
                current.append(item)
        del current[len(value) :]
    elif isinstance(value, dict) and isinstance(current, CommentedMap):
        for old in [k for k in current if k not in value]:
            del current[old]
        for sub, item in value.items():
            _assign_yaml(current, sub, item)
    elif isinstance(value, list):
        seq = CommentedSeq(value)
        seq.fa.set_flow_style()  # `themes: [a, b]`, as the sample entries write lists
        meta[key] = seq
    elif isinstance(value, dict):
        mapping = CommentedMap()
        for sub, item in value.items():
            _assign_yaml(mapping, sub, item)
        meta[key] = mapping
    else:
        meta[key] = value


def _yaml_header(header: str, changes: Mapping[str, Any], name: str) -> str:
    yaml = _yaml(header)
    try:
        meta = yaml.load(header) if header.strip() else CommentedMap()
    except YAMLError as exc:
        raise FrontMatterError(f"{name}: front matter: {exc}".splitlines()[0]) from None
    if meta is None:
        meta = CommentedMap()
    if not isinstance(meta, CommentedMap):
        raise FrontMatterError(f"{name}: front matter must be a mapping of keys to values")
    for key, value in changes.items():
        _assign_yaml(meta, key, value)
    out = io.StringIO()
    yaml.dump(meta, out)
    return out.getvalue()


def _toml_header(header: str, changes: Mapping[str, Any], name: str) -> str:
    try:
        document = tomlkit.parse(header)
    except tomlkit.exceptions.ParseError as exc:
        raise FrontMatterError(f"{name}: front matter: {exc}") from None
    for key, value in changes.items():
        if value is DELETE:
            document.pop(key, None)
        elif isinstance(value, dict) and isinstance(document.get(key), dict):
            current = document[key]  # a [table] or an inline table: changed in place
            for old in [k for k in current if k not in value]:
                del current[old]
            for sub, item in value.items():
                current[sub] = item
        elif isinstance(value, dict):
            table = tomlkit.inline_table()
            table.update(value)
            document[key] = table
        else:
            document[key] = value
    return tomlkit.dumps(document)


def rewrite(text: str, changes: Mapping[str, Any], name: str = "entry") -> str:
    """`text` with the front matter keys in `changes` set (or removed with DELETE); the
    rest of the front matter, its comments and the body are kept as they were."""
    opening, header, closing, body = _split(text, name)
    if opening.strip() == "---":
        new_header = _yaml_header(header, changes, name)
    else:
        new_header = _toml_header(header, changes, name)
    if new_header and not new_header.endswith("\n"):
        new_header += "\n"
    if new_header.strip() in {"{}", ""}:
        new_header = ""
    return f"{opening}{new_header}{closing}{body}"


def update_entry(
    root: Path,
    name: str,
    expected_stamp: str,
    changes: Mapping[str, Any],
    validate: Callable[[Path, str], None] | None = None,
) -> str:
    """Apply `changes` to the front matter of entry `name` in `root`; returns the new stamp.

    Raises ConflictError when the file's stamp is not `expected_stamp` (it changed since
    the page read it), FrontMatterError when the path leaves `root` or the result does not
    parse; `validate(path, new_text)` may raise a DigestError to refuse the result. In
    every failure the file is left untouched.
    """
    path = entry_path(root, name)
    data = path.read_bytes()
    info = path.stat()
    if stamp_of(data, info.st_mtime_ns) != expected_stamp:
        raise ConflictError(
            f"{name} changed on disk since the page was loaded; reload the desk "
            "and make the change again (nothing was written)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FrontMatterError(f"{name}: not UTF-8 text") from None
    new_text = rewrite(text, changes, name)
    if validate is not None:
        validate(path, new_text)
    if path.read_bytes() != data:  # a save that landed while we were working
        raise ConflictError(f"{name} changed on disk while the change was being made")
    write_atomic(path, new_text.encode("utf-8"), error=FrontMatterError)
    os.chmod(path, info.st_mode & 0o7777)  # keep the file's mode, not the temp file's 0600
    return file_stamp(path)
