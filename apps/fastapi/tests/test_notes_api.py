from fastapi.testclient import TestClient

from app.main import app

client = TestClient(app)


def test_health_reports_compiled_driver():
    res = client.get("/health")
    assert res.status_code == 200
    body = res.json()
    assert body["status"] == "ok"
    assert body["psycopg2"].startswith("2.9")
    assert body["libpq"] >= 100000  # e.g. 150010 for libpq 15


def test_db_health_is_skipped_without_database(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    res = client.get("/health/db")
    assert res.status_code == 200
    assert res.json()["status"] == "skipped"


def test_create_list_and_get_notes():
    created = client.post("/notes", json={"title": "shrink the image", "body": "multi-stage"})
    assert created.status_code == 201
    note = created.json()
    assert note["title"] == "shrink the image"

    listed = client.get("/notes")
    assert listed.status_code == 200
    assert any(n["id"] == note["id"] for n in listed.json())

    fetched = client.get(f"/notes/{note['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["body"] == "multi-stage"


def test_validation_and_missing_note():
    assert client.post("/notes", json={"title": ""}).status_code == 422
    assert client.get("/notes/999999").status_code == 404
