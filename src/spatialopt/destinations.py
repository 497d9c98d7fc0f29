"""Where spatialopt may write, and how it claims a destination: the rules in one place.

``solve``, ``sweep``, ``pareto`` (folders) and ``report`` (files) all follow them:

- **Checked before any solve.** :func:`check_destination` refuses, with the
  reason, a destination that could only fail after the work is done: an
  existing file where a folder is asked for, a filesystem root, a name too
  long for the filesystem, a folder nobody may write in.
- **Never overwrite without ``force``.** An occupied folder is kept and the new
  one goes to ``DIR-2``, ``DIR-3``, ... The claim is the ``rename`` of the
  finished staging folder itself, which fails atomically when the target is a
  non-empty folder, so two runs started together never take the same folder.
- **The place is certain** (:func:`command_output`): an ``--out`` the user named
  that is already occupied is refused before any work unless ``force``
  (replace it) or ``rename`` (write ``DIR-N``) is given; only the default
  folder under ``results/`` moves to ``results/<name>-N`` on its own. Either
  move is announced before the work starts.
- **``force`` replaces only what spatialopt wrote**: an empty folder, or a
  folder of the same kind (:data:`RESULT`, :data:`SWEEP`, :data:`PARETO`) that
  holds its record (``run.json``, ``sweep.json``, ``pareto.csv``) as
  spatialopt writes it and nothing but the files spatialopt writes there.
  Anything else (an instance folder, a home folder, ``/``) is refused.
- **Names are data.** A default folder comes from the instance name through
  :func:`safe_folder_name`: one path component, bounded, under ``results/``.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import SpatialoptError

RESULTS_ROOT = Path("results")
MAX_SLUG_CHARS = 80  # a default folder name's length, before its "-sweep"/"-N" suffix
NAME_MAX = 255  # bytes per path component on Linux, macOS and Windows filesystems
SUFFIX_ROOM = 12  # room kept for "-N" (and "-pareto"-style) suffixes
RECORD_MAX_BYTES = 1 << 20  # a record larger than this is not one spatialopt wrote
MAX_SIBLINGS = 9999  # out-2 ... out-9999 before giving up
REPORT_FILES = ("flows.png", "flows.svg", "plan.gpkg")  # beside the report's HTML


class DestinationError(SpatialoptError):
    """An output path that spatialopt will not write to (CLI exit code 2)."""


@dataclass(frozen=True)
class FolderKind:
    """What a folder of one kind holds when spatialopt wrote it."""

    label: str  # how messages name it
    command: str  # the command that writes it
    record: str  # the file that marks it as spatialopt's
    files: frozenset[str]  # every file spatialopt writes into it
    runs: bool = False  # holds result folders (a sweep's runs)


_REPORT = frozenset({"report.html", *REPORT_FILES})
RESULT = FolderKind("result folder", "solve", "run.json", frozenset({
    "solution.json", "run.json", "assignments.csv", "sources.csv", "destinations.csv", "sites.csv",
    "regions.csv", "clusters.csv", "flows.geojson", "scenario.json"}) | _REPORT | frozenset({
    "explain.json", "explain_moved.csv", "explain_staying.csv", "explain_cities.csv", "explain_marginals.csv"}))
SWEEP = FolderKind("sweep folder", "sweep", "sweep.json", frozenset({"sweep.json", "comparison.csv"}), runs=True)
PARETO = FolderKind("Pareto folder", "pareto", "pareto.csv", frozenset({"pareto.csv", "pareto.png"}))

# Records written before "written_by" existed: the keys spatialopt always wrote.
_LEGACY_KEYS = {
    "run.json": {"status", "termination", "reasons", "warnings", "timings_seconds"},
    "sweep.json": {"instance", "instance_sha256", "runs"},
}
_PARETO_HEADER = "point,target_scale,target_residents,moved_residents,objective"


def written_by() -> str:
    """The value of ``written_by`` in the records spatialopt writes."""
    from ._version import __version__

    return f"spatialopt {__version__}"


# -- default folders ------------------------------------------------------------------------
def safe_folder_name(name: str, fallback: str = "instance") -> str:
    """``name`` as one safe path component: letters, digits, ``.``, ``_`` and ``-``, bounded.

    Separators, ``..``, control characters and leading dots cannot survive, so
    ``"../../victim"`` becomes ``"victim"`` and ``"/abs/elsewhere"``
    ``"abs-elsewhere"``; an empty result becomes ``fallback``.
    """
    text = unicodedata.normalize("NFKC", name)
    text = re.sub(r"[^\w.-]+", "-", text)  # \w keeps letters of any script (a name may be 京津冀)
    text = re.sub(r"-{2,}", "-", text).strip(".-_")
    text = text[:MAX_SLUG_CHARS].rstrip(".-_")
    while len(text.encode("utf-8")) > NAME_MAX - SUFFIX_ROOM - 16:  # wide scripts: bound the bytes too
        text = text[:-1]
    return text or fallback


def default_folder(name: str, suffix: str = "") -> Path:
    """``results/<safe name><suffix>``: where a command writes when ``--out`` is not given."""
    return RESULTS_ROOT / f"{safe_folder_name(name)}{suffix}"


def command_output(out: Path | None, name: str, suffix: str, kind: FolderKind, force: bool,
                   rename: bool = False) -> tuple[Path, str]:
    """A command's folder, checked before any work: ``out``, or the default for instance ``name``.

    A script that names ``--out DIR`` then reads ``DIR``: so an occupied
    ``DIR`` is refused (:class:`DestinationError`) unless ``force`` replaces
    it or ``rename`` lets the run take the next free ``DIR-N``. The default
    folder (``out`` None) takes ``results/<name>-N`` on its own. Returns the
    folder and a note for the user, to print before the work starts ("" when
    there is nothing to say).
    """
    if force and rename:
        raise DestinationError("--force and --rename exclude each other: replace the folder, or write beside it")
    notes = []
    named = out is not None
    if out is None:
        out = default_folder(name, suffix)
        if out.name != f"{name}{suffix}":
            notes.append(f"the instance name {name[:60]!r} is not a safe folder name; writing under {out}")
    folder = check_destination(out, kind, force)
    if not force and is_occupied(folder):
        following = next_free(folder)
        if named and not rename:
            raise DestinationError(
                f"--out {_short(os.fspath(out))} already exists and is not empty; nothing was run. "
                f"--force replaces a {kind.label} that 'spatialopt {kind.command}' wrote, --rename writes "
                f"{_short(os.fspath(following))} instead, or choose another --out")
        how = "--force replaces it" if named else "--force replaces it, --out DIR chooses the place"
        notes.append(f"{_short(os.fspath(folder))} holds an earlier run: this run will write "
                     f"{_short(os.fspath(following))} instead ({how})")
    return folder, "; ".join(notes)


def is_occupied(folder: Path) -> bool:
    """Whether a folder written to ``folder`` would have to go elsewhere (a non-empty folder, a file, a link)."""
    if os.path.islink(folder) or (os.path.lexists(folder) and not folder.is_dir()):
        return True
    try:
        if not folder.is_dir():
            return False
        with os.scandir(folder) as entries:
            return any(True for _ in entries)
    except OSError:
        return True


def next_free(folder: Path) -> Path:
    """The first of ``folder-2``, ``folder-3``, ... that is missing or empty now (another run may take it first)."""
    for n in range(2, MAX_SIBLINGS + 1):
        candidate = folder.with_name(f"{folder.name}-{n}")
        if not is_occupied(candidate):
            return candidate
    raise DestinationError(f"--out {folder}: {folder.name}-2 ... {folder.name}-{MAX_SIBLINGS} are all taken; "
                           "choose another --out")


def moved_elsewhere(asked: Path, written: Path, may_rename: bool) -> str | None:
    """What to tell the user when the run landed in ``written`` rather than ``asked`` (None: nothing).

    Without ``may_rename`` the user was promised ``asked``: another run took it
    meanwhile, and the message (an error, exit 2) says where this run's result is.
    """
    if written == asked or may_rename:  # a rename the user allowed was announced at the start
        return None
    return (f"spatialopt: --out {asked} was written by another run while this one worked; "
            f"this run's result is kept in {written}")


# -- checks before the work -----------------------------------------------------------------
def _absolute(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute the way the kernel will see it: its folder resolved, its last name kept.

    The last name is not followed, so a symbolic link there is seen as one; a
    path ending in ``.`` or ``..`` is resolved whole.
    """
    text = os.fspath(path).rstrip(os.sep) or os.sep
    head, tail = os.path.split(os.path.join(os.getcwd(), text))
    if tail in ("", ".", ".."):
        return Path(os.path.realpath(text))
    return Path(os.path.realpath(head)) / tail


def _short(text: str, limit: int = 120) -> str:
    """A path as messages show it: a very long one is cut in the middle."""
    return text if len(text) <= limit else f"{text[:limit // 2 - 2]}...{text[-(limit // 2 - 1):]}"


def _check_names(path: Path, shown: str) -> None:
    for part in path.parts[1:]:
        size = len(os.fsencode(part))
        if size > NAME_MAX - SUFFIX_ROOM:
            raise DestinationError(f"{shown}: a name in the path is {size} bytes long; "
                                   f"the limit is {NAME_MAX - SUFFIX_ROOM} (filesystems allow {NAME_MAX})")


def _check_parent(path: Path, shown: str) -> None:
    """The nearest existing ancestor of ``path`` is a folder this process may create entries in."""
    ancestor = path.parent
    while not os.path.lexists(ancestor):
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise DestinationError(f"{shown}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise DestinationError(f"{shown}: cannot create anything in {ancestor} (no write permission, "
                               "or a read-only filesystem)")


def check_destination(out: str | os.PathLike[str], kind: FolderKind, force: bool) -> Path:
    """Refuse, before any work, a folder destination that cannot or may not be written; return it.

    Without ``force`` an occupied folder is fine (the run goes to ``DIR-2``);
    with ``force`` it must be empty or replaceable (:func:`replace_refusal`).
    Returns ``out``, or its absolute form when it ends in ``.`` or ``..``
    (a folder is written under a name).
    """
    shown = f"--out {_short(os.fspath(out))}"
    path = _absolute(out)
    if not path.name:
        raise DestinationError(f"{shown}: a filesystem root cannot be a {kind.label}")
    _check_names(path, shown)
    _check_parent(path, shown)
    if os.path.islink(path):
        if force:
            raise DestinationError(f"{shown} is a symbolic link; --force replaces only a {kind.label} "
                                   f"that 'spatialopt {kind.command}' wrote")
    elif path.exists() and not path.is_dir():
        raise DestinationError(f"{shown} is an existing file; a {kind.label} must be a folder")
    elif force and path.is_dir():
        reason = replace_refusal(path, kind)
        if reason:
            raise DestinationError(f"{shown}: --force refused: {reason}")
    named = Path(out)
    return named if named.name not in ("", ".", "..") else path


def replace_refusal(folder: Path, kind: FolderKind) -> str | None:
    """Why ``folder`` may not be replaced by a new ``kind`` folder (None: it may)."""
    try:
        entries = sorted(os.listdir(folder))
    except OSError as exc:
        return f"cannot list it ({exc.strerror})"
    if not entries:
        return None
    if not os.access(folder, os.W_OK | os.X_OK):  # its files could not be removed after the swap
        return "it is read-only: its files could not be removed"
    if not _has_record(folder, kind):
        return (f"it is not a {kind.label} that 'spatialopt {kind.command}' wrote (no {kind.record} "
                "written by spatialopt); remove it yourself or choose another --out")
    foreign = [e for e in entries if not _written_here(folder / e, e, kind)]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        return (f"it holds what spatialopt does not write there ({shown}); "
                "move them away or choose another --out")
    return None


def _written_here(path: Path, name: str, kind: FolderKind) -> bool:
    mode = os.lstat(path).st_mode
    if stat.S_ISREG(mode):
        return name in kind.files
    if kind.runs and stat.S_ISDIR(mode):
        return replace_refusal(path, RESULT) is None and bool(os.listdir(path))
    return False


def _has_record(folder: Path, kind: FolderKind) -> bool:
    path = folder / kind.record
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > RECORD_MAX_BYTES:
            return False
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if kind.record.endswith(".csv"):
        return text.startswith(_PARETO_HEADER)
    try:
        record = json.loads(text)
    except ValueError:
        return False
    if not isinstance(record, dict):
        return False
    mark = record.get("written_by")
    if isinstance(mark, str):
        return mark.startswith("spatialopt ")
    return _LEGACY_KEYS[kind.record] <= set(record)


# -- claiming a folder ----------------------------------------------------------------------------
def new_staging(out: Path) -> Path:
    """A fresh hidden folder beside ``out`` (created with the umask's permissions, not 0700)."""
    parent = _absolute(out).parent
    stem = _absolute(out).name[:40]
    try:
        parent.mkdir(parents=True, exist_ok=True)
        while True:
            staging = parent / f".{stem}.{secrets.token_hex(6)}.staging"
            try:
                staging.mkdir()
                return staging
            except FileExistsError:
                continue
    except OSError as exc:
        raise DestinationError(f"--out {_short(str(out))}: cannot create a folder in {parent}: {exc.strerror}") from exc


def place_folder(staging: Path, out: Path, kind: FolderKind, force: bool) -> Path:
    """Move the finished ``staging`` folder to ``out`` (or the first free ``out-N``); return where.

    ``rename`` onto a missing or empty folder succeeds and onto a non-empty one
    fails, atomically: that failure is the sign that another run got there
    first. With ``force`` an existing ``kind`` folder at ``out`` is set aside,
    checked again, replaced, and only then removed.
    """
    if force:
        return _replace(staging, out, kind)
    for n in range(1, MAX_SIBLINGS + 1):
        target = out if n == 1 else out.with_name(f"{out.name}-{n}")
        try:
            os.rename(staging, target)
            return target
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                raise DestinationError(f"cannot write {target}: {exc.strerror}") from exc
    raise DestinationError(f"--out {out}: {out.name}-2 ... {out.name}-{MAX_SIBLINGS} are all taken; "
                           "choose another --out")


def _replace(staging: Path, out: Path, kind: FolderKind) -> Path:
    for _ in range(10):  # another run may take or free ``out`` between the steps
        try:
            os.rename(staging, out)
            return out
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise DestinationError(f"--out {out}: cannot write it: {exc.strerror}") from exc
        old = out.with_name(f".{out.name[:40]}.{secrets.token_hex(6)}.old")
        try:
            os.rename(out, old)
        except FileNotFoundError:
            continue
        reason = replace_refusal(old, kind)  # checked again, now that no one else can change it
        if reason is None:
            try:
                os.rename(staging, out)
            except OSError:
                _restore(old, out)
                continue
            shutil.rmtree(old, ignore_errors=True)
            return out
        _restore(old, out)
        raise DestinationError(f"--out {out}: --force refused: {reason}")
    raise DestinationError(f"--out {out}: other runs kept replacing it; try again")


def _restore(old: Path, out: Path) -> None:
    try:
        os.rename(old, out)
    except OSError as exc:
        raise DestinationError(f"--out {out}: another run wrote it meanwhile; the folder that was there "
                               f"is kept as {old}") from exc


# -- single files (report, export, diff --csv) ---------------------------------------------
def check_files(paths: list[Path], force: bool, shown: str, other: str = "another --out") -> None:
    """Refuse, before any work, to write ``paths`` where one exists (without ``force``) or cannot be written.

    ``other`` completes the advice "use --force to replace, or choose ...".
    """
    for path in paths:
        absolute = _absolute(path)
        _check_names(absolute, shown)
        _check_parent(absolute, shown)
        if os.path.lexists(absolute) and not os.path.isfile(absolute):
            raise DestinationError(f"{shown}: {_short(str(path))} exists and is not a regular file")
    existing = [p for p in paths if os.path.lexists(p)]
    if existing and not force:
        names = ", ".join(str(p) for p in existing)
        raise DestinationError(f"{shown}: {names} already exist{'s' if len(existing) == 1 else ''}; "
                               f"use --force to replace, or choose {other}")


def publish_file(path: Path, content: bytes | None, force: bool, *, written: Path | None = None) -> None:
    """Write ``content`` (or move the finished file ``written``) to ``path`` atomically.

    Without ``force`` the file is linked into place, which fails if ``path``
    appeared meanwhile; with ``force`` it replaces ``path``. No temporary file
    is left behind on any path.
    """
    tmp = written if written is not None else new_temporary_file(path)
    try:
        if content is not None:
            tmp.write_bytes(content)
        if force:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def publish_files(contents: Sequence[tuple[Path, bytes | None, Path | None]], force: bool) -> None:
    """Publish several files all or nothing: :func:`publish_file` for each ``(path, content, written)`` in turn.

    If one fails, the files this call already published are removed again,
    but only without ``force``: then each was linked into a name that did not
    exist, so it is one spatialopt created here, never a file that was there
    before. (With ``force`` a replaced file cannot be restored; nothing is removed.)
    """
    published: list[Path] = []
    try:
        for path, content, written in contents:
            publish_file(path, content, force, written=written)
            published.append(path)
    except BaseException:
        if not force:
            for path in published:
                path.unlink(missing_ok=True)
        raise


def new_temporary_file(beside: Path, suffix: str = ".tmp") -> Path:
    """A new, empty, hidden file next to ``beside`` that this call created (never a name that existed)."""
    fd, name = tempfile.mkstemp(dir=beside.parent, prefix=f".{beside.stem[:40]}.", suffix=suffix)
    os.close(fd)
    return Path(name)


def _link_new(tmp: Path, path: Path) -> None:
    """Give ``tmp``'s content the name ``path`` only if ``path`` does not exist (atomically where links exist)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise DestinationError(f"{path} appeared while it was being written; it is kept "
                               "(use --force to replace it)") from None
    except OSError:  # a filesystem without hard links: create-exclusive, then copy
        try:
            with open(path, "xb") as target:
                target.write(tmp.read_bytes())
        except FileExistsError:
            raise DestinationError(f"{path} appeared while it was being written; it is kept "
                                   "(use --force to replace it)") from None
