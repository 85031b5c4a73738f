"""Settings, from the environment (PITTERM_*) or the command line."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_path
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """How this terminal runs. With no database URL it runs in demo (training) mode."""

    model_config = SettingsConfigDict(env_prefix="PITTERM_", extra="ignore")

    database_url: str | None = None
    """SQLAlchemy/libpq URL of the casino database; unset means demo mode on SQLite."""
    casino: str | None = None
    """Code of the casino this terminal belongs to; demo mode lets the trainer pick."""
    data_dir: Path = Field(default_factory=lambda: user_data_path("pitterm", appauthor=False))
    """Where the demo database lives."""

    @property
    def demo(self) -> bool:
        return self.database_url is None

    @property
    def demo_database_path(self) -> Path:
        return self.data_dir / "demo.sqlite3"

    @property
    def effective_url(self) -> str:
        return self.database_url or f"sqlite:///{self.demo_database_path}"
