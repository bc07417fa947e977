"""WSGI entry point: ``gunicorn wsgi:app``; the Flask CLI finds the app here too."""

from app import create_app

app = create_app()
