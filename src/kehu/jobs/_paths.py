"""Where the jobs keep fitted models (the recommender, the ticket-category classifier...)."""

from pathlib import Path

from sqlalchemy.engine import make_url

from kehu.core import Settings


def model_dir(settings: Settings) -> Path:
    """Return the folder of fitted models.

    ``KEHU_MODEL_DIR`` when set; otherwise ``models/`` beside the SQLite file, or
    ``<KEHU_DATA_DIR>/models`` for other databases.
    """
    return _model_dir(settings.model_dir, settings.database_url, settings.data_dir)


def _model_dir(model_dir_setting: Path | None, database_url: str, data_dir: Path) -> Path:
    if model_dir_setting is not None:
        return Path(model_dir_setting)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(str(url.database)).resolve().parent / "models"
    return Path(data_dir) / "models"


__all__ = ["model_dir"]
