"""Server mode: the HTTP side of the bot (Starlette served by uvicorn in the bot's own event loop).

    app.py      create_app(state): routes POST /{channel}, GET /media/{token}, /healthz, /readyz, /metrics;
                WebState: phase (starting | ready | draining), registered channels, last contact per channel
    ingress.py  WebhookChannel (the protocol a channel's webhook implements) and Ingress (dedupe, one queue
                per person, concurrency across people, drain)
    media.py    MediaStore: url_for_bytes / url_for_file -> short-lived HMAC-signed links, and their resolution
    metrics.py  Metrics: the Prometheus registry and the hooks the sender and the bot report into
    dashboard.py the ward office's web dashboard under /dashboard (Jinja2 pages in templates/, static/); what
                each page may show or do is bot/dashboard.py, its SQL bot/data/dashboard.py
    telegram.py Telegram's webhook channel and the long-polling update processor
    server.py   serve(settings): start, register webhooks or poll, drain on SIGTERM/SIGINT

Nothing here is imported by the core services except MediaStore (Services.media), which imports no channel.
"""
