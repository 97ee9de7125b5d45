"""Gunicorn settings: one command line everywhere (docker/Dockerfile, Procfile, `make web` and
tests/production/test_gunicorn.py):  gunicorn config.wsgi -c config/gunicorn.py

Environment: HOST (default 127.0.0.1; the image sets 0.0.0.0), PORT (8000), WEB_CONCURRENCY
(worker processes, 2), GUNICORN_THREADS (threads per worker, 4), GUNICORN_TIMEOUT (30 s),
FORWARDED_ALLOW_IPS (proxies trusted for X-Forwarded-*, gunicorn's own variable).
"""
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
accesslog = "-"
# Bound request lines and headers (gunicorn's defaults, stated); bodies are bounded by Django
# (DATA_UPLOAD_MAX_MEMORY_SIZE, config/edges.py).
limit_request_line = 4094
limit_request_fields = 100
