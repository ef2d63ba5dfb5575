from fastapi import FastAPI
from sqlalchemy import text

from notes_api.db import engine

app = FastAPI()


@app.get("/notes")
def notes() -> dict:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT body FROM notes ORDER BY id")).all()
    return {"notes": [r[0] for r in rows]}


@app.get("/libpq")
def libpq() -> dict:
    # psycopg's pure-Python implementation loads the system's libpq ([run] apt = ["libpq5"]).
    import psycopg

    return {"libpq": psycopg.pq.version()}
