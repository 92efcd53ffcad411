"""Where fitted models live: one rule for every job, importable from its old place too."""

from pathlib import Path

from kehu.core import Settings
from kehu.jobs import recommend, service
from kehu.jobs._paths import model_dir


def _settings(**values):
    return Settings(environment="test", secret_key="k" * 40, **values)


def test_the_setting_wins_then_beside_sqlite_then_the_data_dir(tmp_path):
    sqlite = f"sqlite:///{tmp_path / 'db' / 'kehu.db'}"

    assert model_dir(_settings(model_dir=tmp_path / "m", database_url=sqlite)) == tmp_path / "m"
    assert model_dir(_settings(database_url=sqlite)) == (tmp_path / "db").resolve() / "models"
    assert (
        model_dir(_settings(database_url="postgresql+psycopg://u@h/db", data_dir=tmp_path))
        == Path(tmp_path) / "models"
    )
    assert model_dir(_settings(database_url="sqlite://", data_dir=tmp_path)) == tmp_path / "models"


def test_the_recommender_and_the_ticket_classifier_use_the_same_folder(tmp_path):
    settings = _settings(model_dir=tmp_path)

    assert recommend.model_dir is model_dir  # the old import keeps working
    assert recommend.recommender_path(settings).parent == tmp_path
    assert service.category_model_path(settings).parent == tmp_path
