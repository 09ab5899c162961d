# Trợ lý số in a container: `docker compose -f deploy/compose.yaml up -d` puts Caddy (HTTPS) in front.
# The database lives in the /data volume; nothing else in the container needs to survive it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATABASE_PATH=/data/bot.sqlite3

WORKDIR /app
# Dependencies first (a layer that changes only with pyproject.toml), then the code, content and catalogs.
COPY pyproject.toml README.md ./
RUN mkdir -p bot/data bot/web bot/channels/zalo handlers \
    && touch bot/__init__.py bot/data/__init__.py bot/web/__init__.py bot/channels/__init__.py \
       bot/channels/zalo/__init__.py handlers/__init__.py \
    && pip install -e . && rm -rf bot handlers
COPY bot bot
COPY handlers handlers
COPY content content
COPY locales locales
# The .mo catalogs are built, not committed.
RUN pybabel compile -d locales --statistics \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin trolyso \
    && mkdir -p /data && chown trolyso /data

USER trolyso
VOLUME ["/data"]
EXPOSE 8080
# /healthz answers while the process runs; /readyz (database, content, Telegram) is for the operator.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8080'), timeout=4)"]
# SIGTERM drains: updates and campaign sends in flight finish and are recorded, then exit 0.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
