"""deploy/: every variable the recipe gives the bot is a real setting, the example
settings pass the bot's checks, the replicas are the ones nginx balances over, and
the nginx config passes `nginx -t`."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.config import Settings
from models.db import ROOT

DEPLOY = ROOT / "deploy"
SETTINGS = {name.upper() for name in Settings.model_fields}
# Read by Python and pip in the image, not by the bot.
INTERPRETER = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR",
               "PIP_DISABLE_PIP_VERSION_CHECK"}


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def bot_services() -> dict[str, dict]:
    return {name: service for name, service in compose()["services"].items()
            if service.get("image") == "living-room-bot"}


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def test_compose_runs_several_replicas_on_postgresql_and_redis() -> None:
    services = compose()["services"]
    bots = bot_services()
    assert len(bots) >= 2
    assert {"postgres", "redis", "nginx"} <= set(services)
    for service in bots.values():
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert env["REDIS_URL"].startswith("redis://")
        assert set(env) <= SETTINGS, set(env) - SETTINGS


def test_every_variable_the_recipe_sets_is_a_setting() -> None:
    example = env_file(DEPLOY / "env.example")
    assert set(example) - {"POSTGRES_PASSWORD"} <= SETTINGS, set(example) - SETTINGS
    unit = (DEPLOY / "living-room-bot@.service").read_text()
    assert set(re.findall(r"^Environment=(\w+)=", unit, re.MULTILINE)) <= SETTINGS
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert set(re.findall(r"^\s*(?:ENV\s+)?(\w+)=\S+\s*\\?$", dockerfile,
                          re.MULTILINE)) <= INTERPRETER | SETTINGS


def test_the_example_settings_pass_the_bots_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env_file(DEPLOY / "env.example").items():
        monkeypatch.setenv(name, value)
    service = next(iter(bot_services().values()))
    for name, value in service["environment"].items():
        monkeypatch.setenv(name, re.sub(r"\$\{POSTGRES_PASSWORD[^}]*\}", "pw", str(value)))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.webhook_path == "/tg/hook" and settings.redis_url
    assert settings.database_url.startswith("postgresql+asyncpg://bot:pw@postgres")


def test_nginx_balances_over_the_compose_replicas_on_the_webhook_path() -> None:
    conf = (DEPLOY / "nginx" / "bot.conf").read_text()
    servers = re.findall(r"^\s*server (\w+):(\d+)", conf, re.MULTILINE)
    bots = bot_services()
    assert sorted(name for name, _ in servers) == sorted(bots)
    assert {int(port) for _, port in servers} == {
        int(s["environment"]["WEBHOOK_PORT"]) for s in bots.values()}
    path = Settings(_env_file=None, bot_token="1:a",  # type: ignore[call-arg]
                    webhook_url=env_file(DEPLOY / "env.example")["WEBHOOK_URL"],
                    webhook_secret="x").webhook_path
    assert f"location = {path} " in conf


def test_the_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    openssl = shutil.which("openssl")
    if nginx is None or openssl is None:
        pytest.skip("needs nginx and openssl (tools/run-tests installs nginx in CI)")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=bot.example.org", "-keyout", str(tmp_path / "privkey.pem"),
                    "-out", str(tmp_path / "fullchain.pem")], check=True, capture_output=True)
    conf = (DEPLOY / "nginx" / "bot.conf").read_text()
    # Only what exists inside compose changes: the certificates' folder, and the
    # replicas' names (nginx -t resolves them).
    conf = conf.replace("/etc/nginx/certs", str(tmp_path))
    conf = re.sub(r"server bot\d+:", "server 127.0.0.1:", conf)
    (tmp_path / "bot.conf").write_text(conf)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path}/body;\n"
        f"  proxy_temp_path {tmp_path}/proxy;\n  include {tmp_path}/bot.conf;\n}}\n")
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
