"""A tiny notes service: FastAPI over SQLite, its schema made by Alembic."""
