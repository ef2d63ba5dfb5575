import os

from sqlalchemy import create_engine

# Relative to the working directory, as the project's own scripts run it (from /app).
DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///notes.db")

engine = create_engine(DATABASE_URL)
