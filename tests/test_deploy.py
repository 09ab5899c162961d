"""The deployment files agree with the code: what Caddy publishes is what the app serves to the world (and
never /metrics or /readyz), the image copies what exists and checks a route that exists. Docker and Caddy
themselves do not run here."""

from __future__ import annotations

import re

from starlette.routing import Mount, Route

from bot.web.app import WebState, create_app
from tests.conftest import ROOT


def routes() -> set[str]:
    return {r.path for r in create_app(WebState()).routes if isinstance(r, Route)}


def test_caddy_publishes_the_webhooks_media_health_and_dashboard_only():
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    public = re.search(r"@public path (.+)", caddyfile).group(1).split()
    assert public == ["/telegram", "/zalo", "/media/*", "/healthz", "/dashboard", "/dashboard/*"]
    assert {"/{channel}", "/media/{token}", "/healthz", "/readyz", "/metrics"} == routes()
    mounts = {r.path for r in create_app(WebState()).routes if isinstance(r, Mount)}
    assert mounts == {"/dashboard"}  # the dashboard's pages and its static files, all under one prefix
    assert "reverse_proxy bot:8080" in caddyfile and "respond 404" in caddyfile  # everything else stays inside


def test_the_image_copies_what_exists_and_checks_a_real_route():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for source in re.findall(r"^COPY (\S+)", dockerfile, re.MULTILINE):
        assert (ROOT / source).exists(), source
    assert "/healthz" in dockerfile and "/healthz" in routes()
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)  # not root
    assert ".env" in (ROOT / ".dockerignore").read_text(encoding="utf-8").split()  # the token stays out


def test_the_image_installs_every_package_pyproject_lists():
    """The dependency layer installs with placeholder packages: one missing (a package added later) breaks the build."""
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for package in packages:
        assert package.replace(".", "/") + "/__init__.py" in dockerfile, package


def test_the_postgresql_compose_gives_the_bot_the_database_it_creates():
    from bot.config import Settings

    compose = (ROOT / "deploy" / "compose.postgres.yaml").read_text(encoding="utf-8")
    user, db = (re.search(rf"POSTGRES_{key}: (\w+)", compose).group(1) for key in ("USER", "DB"))
    url = re.search(r"DATABASE_URL: (\S+)", compose).group(1).replace("${POSTGRES_PASSWORD}", "secret")
    assert url == f"postgresql://{user}:secret@db:5432/{db}"
    assert Settings.from_env({"DATABASE_URL": url}).database == url
    assert f"pg_dump -U {user} --format=custom {db}" in compose  # the backup line names the same database


def test_the_systemd_install_steps_make_every_folder_the_unit_needs():
    """ReadWritePaths names a folder that must exist, or systemd refuses to start the unit (the bot would create
    data/ itself, but never gets that far); the install steps in the unit's header create it before the chown."""
    unit = (ROOT / "deploy" / "tro-ly-so.service").read_text(encoding="utf-8")
    steps = "\n".join(line for line in unit.splitlines() if line.startswith("#"))
    for path in re.findall(r"^ReadWritePaths=(.+)$", unit, re.MULTILINE)[0].split():
        made = steps.find(f"mkdir -p {path}")
        assert made != -1, path
        assert made < steps.find(f"chown -R trolyso: {path}"), path


def test_the_workers_compose_migrates_once_then_runs_the_ingress_and_workers_on_one_database():
    compose = (ROOT / "deploy" / "compose.workers.yaml").read_text(encoding="utf-8")
    user, db = (re.search(rf"POSTGRES_{key}: (\w+)", compose).group(1) for key in ("USER", "DB"))
    urls = set(re.findall(r"DATABASE_URL: (\S+)", compose))
    assert urls == {f"postgresql://{user}:${{POSTGRES_PASSWORD}}@db:5432/{db}"}
    for command in ('"bot", "migrate"]', '"bot", "ingress"]', '"bot", "worker", "--concurrency"'):
        assert command in compose
    assert compose.count("condition: service_completed_successfully") == 2  # both wait for the migration
    assert f"pg_dump -U {user} --format=custom {db}" in compose
