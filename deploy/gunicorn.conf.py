"""gunicorn settings of the web process (Procfile `web`, deploy/collector-desk-web.service), from the environment.

Each worker process serves GUNICORN_THREADS requests at once and each thread keeps its own database connection
(CONN_MAX_AGE): WEB_CONCURRENCY x GUNICORN_THREADS per host must stay well under PostgreSQL's max_connections,
together with the Celery workers' connections.
"""

import os

_cpus = os.cpu_count() or 1

# Behind a reverse proxy on the same host (it terminates TLS and sets X-Forwarded-Proto, which Django trusts:
# SECURE_PROXY_SSL_HEADER), so only local connections by default. In a container: GUNICORN_BIND=0.0.0.0:8000.
bind = [os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")]
workers = int(os.environ.get("WEB_CONCURRENCY", str(min(2 * _cpus, 8))))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A request still running after this many seconds is killed with its worker (the desk and the API answer in
# well under a second; imports and reports run as commands, not requests).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Workers are replaced after this many requests (with jitter, so not all at once): bounded memory over months.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# No access log here: request lines carry loan and borrower refs in their paths, and the application's logs never
# contain ids. The reverse proxy keeps the access log, under its own retention.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
