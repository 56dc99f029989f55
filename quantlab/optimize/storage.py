"""Optuna storages: where a study lives, so that it resumes and several workers share it.

* ``None`` (default): SQLite under ``reports/optuna/<study>.db`` (resumes on the next call).
* ``"memory"``: an in-process study (nothing written; for one-off searches such as a fold).
* ``"sqlite:///path.db"``, ``"postgresql://user@host:port/db"`` or any SQLAlchemy URL:
  :class:`optuna.storages.RDBStorage` (with a heartbeat, so trials of a killed worker are
  failed instead of staying "running" for ever).
* ``"journal:path.log"`` or a path ending in ``.log`` / ``.journal``: an append-only journal
  file (:class:`optuna.storages.JournalStorage` with :class:`JournalFileBackend`), which
  several processes on one machine (or a shared file system) can write at once.
* an :class:`optuna.storages.BaseStorage` instance, used as is.

On PostgreSQL (and any RDB shared by workers) create the study **before** starting the
workers with :func:`create_study`: several processes creating optuna's schema at once fail.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from quantlab._validate import message
from quantlab.errors import InvalidParameterError

__all__ = ["DEFAULT_DIRECTORY", "resolve_storage", "storage_url", "create_study", "load_study",
           "import_optuna"]

#: Folder of the default SQLite studies (relative to the working directory).
DEFAULT_DIRECTORY = Path("reports") / "optuna"
_JOURNAL_SUFFIXES = (".log", ".journal", ".jsonl")
#: Seconds between a running trial's heartbeats on an RDB storage, and after which a trial
#: whose worker stopped beating is failed.
HEARTBEAT_S = 10
GRACE_S = 60


def import_optuna() -> Any:
    """Import optuna, with a message saying what to install when it is missing."""
    try:
        import optuna
    except ImportError as exc:  # pragma: no cover - optuna is a dependency
        raise ImportError("quantlab.optimize needs optuna: pip install 'optuna>=4.0'") from exc
    return optuna


def storage_url(storage: Any, study_name: str) -> Any:
    """The storage spec ``storage`` stands for: the default SQLite URL when None, else itself."""
    if storage is None:
        DEFAULT_DIRECTORY.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(DEFAULT_DIRECTORY / f'{_safe(study_name)}.db').as_posix()}"
    return storage


def resolve_storage(storage: Any, study_name: str, *, caller: str = "resolve_storage") -> Any:
    """Return the optuna storage object for ``storage`` (see the module docstring).

    Parameters
    ----------
    storage : None, str, PathLike or optuna BaseStorage
        None: SQLite under ``reports/optuna/<study_name>.db``; ``"memory"``; a SQLAlchemy
        URL; ``"journal:PATH"`` or a path ending in ``.log``/``.journal``/``.jsonl``.
    study_name : str
        Names the default SQLite file.

    Returns
    -------
    optuna.storages.BaseStorage

    Raises
    ------
    InvalidParameterError
        ``storage`` is none of the above.
    """
    optuna = import_optuna()
    from optuna.storages import BaseStorage, InMemoryStorage, JournalStorage, RDBStorage
    from optuna.storages.journal import JournalFileBackend

    if isinstance(storage, BaseStorage):
        return storage
    spec = storage_url(storage, study_name)
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str) or not spec:
        raise InvalidParameterError(message(
            "storage", caller, "None, 'memory', a SQLAlchemy URL, 'journal:PATH' or an optuna "
            "storage", spec, "E.g. 'sqlite:///study.db' or 'postgresql://user@host/db'."))
    if spec == "memory":
        return InMemoryStorage()
    journal = spec[len("journal:"):] if spec.startswith("journal:") else (
        spec if spec.endswith(_JOURNAL_SUFFIXES) and "://" not in spec else None)
    if journal is not None:
        Path(journal).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(journal))
    if "://" not in spec:
        raise InvalidParameterError(message(
            "storage", caller, "None, 'memory', a SQLAlchemy URL, 'journal:PATH' or an optuna "
            "storage", spec, "A file path needs a scheme: 'sqlite:///" + spec + "' or 'journal:"
            + spec + "'."))
    if spec.startswith("sqlite:///"):
        Path(spec[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    engine_kwargs = {"connect_args": {"timeout": 60}} if spec.startswith("sqlite") else None
    with warnings.catch_warnings():  # the heartbeat is "experimental" in optuna's words
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        rdb = RDBStorage(spec, engine_kwargs=engine_kwargs, heartbeat_interval=HEARTBEAT_S,
                         grace_period=GRACE_S)
    if spec.startswith("sqlite"):
        _sqlite_wal(rdb.engine)
    return rdb


def _sqlite_wal(engine: Any) -> None:
    """Put a SQLite study in WAL mode with ``synchronous=NORMAL`` on every new connection.

    Optuna commits a dozen times per trial; SQLite's default (rollback journal, full sync)
    pays an fsync each time (~10 ms on a busy disk). WAL keeps readers and one writer
    concurrent (processes on one machine; not over a network file system), and NORMAL
    stays consistent after a crash (the last commits may be lost, never the file).
    """
    from sqlalchemy import event

    def pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    event.listen(engine, "connect", pragmas)
    engine.dispose()  # connections opened while optuna created the schema: reopen with them


def create_study(study_name: str, *, storage: Any = None, directions: Sequence[str] = ("maximize",),
                 sampler: Any = None, pruner: Any = None, user_attrs: dict[str, Any] | None = None,
                 load_if_exists: bool = True) -> Any:
    """Create (or load) the study ``study_name``; call it once before starting workers.

    Parameters
    ----------
    study_name : str
    storage : see :func:`resolve_storage`
    directions : sequence of {"maximize", "minimize"}, default ("maximize",)
    sampler, pruner : optuna sampler / pruner, optional
    user_attrs : dict, optional
        Stored on the study (e.g. the search configuration ``quantlab worker`` rebuilds
        its objective from); existing ones are overwritten.
    load_if_exists : bool, default True
        Resume a study of that name (False: an existing one raises optuna's
        ``DuplicatedStudyError``).

    Returns
    -------
    optuna.Study
    """
    optuna = import_optuna()
    directions = list(directions)
    study = optuna.create_study(storage=resolve_storage(storage, study_name, caller="create_study"),
                                study_name=study_name, sampler=sampler, pruner=pruner,
                                directions=directions, load_if_exists=load_if_exists)
    if [d.name.lower() for d in study.directions] != [d.lower() for d in directions]:
        raise InvalidParameterError(message(
            "directions", "create_study", f"those of the existing study {study_name!r} "
            f"({[d.name.lower() for d in study.directions]})", directions,
            "Pick another study_name for a different objective."))
    for key, value in (user_attrs or {}).items():
        study.set_user_attr(key, value)
    return study


def load_study(study_name: str, *, storage: Any, sampler: Any = None, pruner: Any = None) -> Any:
    """Load an existing study (what a worker does); a did-you-mean when the name is unknown."""
    optuna = import_optuna()
    store = resolve_storage(storage, study_name, caller="load_study")
    names = [s.study_name for s in optuna.get_all_study_summaries(store, include_best_trial=False)]
    if study_name not in names:
        hint = did_you(study_name, names)
        raise InvalidParameterError(message(
            "study", "load_study", f"an existing study of {storage!r}", study_name,
            hint or "Create it first (quantlab optimize CONFIG.yaml, or create_study())."))
    return optuna.load_study(study_name=study_name, storage=store, sampler=sampler, pruner=pruner)


def did_you(name: str, names: list[str]) -> str | None:
    from quantlab._validate import did_you_mean

    hint = did_you_mean(name, names)
    return hint or (f"Studies there: {', '.join(names)}." if names else None)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
