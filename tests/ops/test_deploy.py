"""The deployment guide (docs/deploy.md) and its files (docs/deploy/), checked by the programs
that will read them: the nginx site passes ``nginx -t`` and serves a real request to a live
``gql-users serve`` with the client's forwarded address, the Caddyfile passes ``caddy
validate``, the systemd unit ``systemd-analyze verify``; and the guide names only settings,
commands and options that exist. A missing program skips its test and says what to install
(CI installs them all: .ci/run)."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import aiohttp
import click
import pytest

from gql_users.cli import main
from gql_users.settings import Settings
from tests.conftest import Factory
from tests.ops.conftest import StartServe
from tests.pgserver import free_port
from tests.subscriptions import connect
from tests.test_cli import gql_users_command

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / "docs" / "deploy.md"
DEPLOY = REPO_ROOT / "docs" / "deploy"
NGINX_SITE = DEPLOY / "nginx.conf"
CADDYFILE = DEPLOY / "Caddyfile"
UNIT = DEPLOY / "gql-users.service"
EXAMPLE_ROOT = "/srv/gql-users"  # where the guide installs the service
SETTING = re.compile(r"\bGQL_USERS_[A-Z0-9_]+\b")


def program(name: str, package: str) -> str:
    """The program's path (Debian keeps nginx in /usr/sbin, off a user's PATH), or a skip."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        pytest.skip(f"{name} is not installed (on Debian or Ubuntu: apt-get install {package})")
    return found


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced; fails when the file no longer has ``old`` exactly once."""
    assert text.count(old) == 1, f"expected {old!r} once in the deployment file"
    return text.replace(old, new)


# --- nginx ------------------------------------------------------------------------------------


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    openssl = program("openssl", "openssl")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


def nginx_site(cert: Path, key: Path) -> str:
    """The site of docs/deploy/nginx.conf with the test's certificate."""
    site = NGINX_SITE.read_text()
    site = replace_once(site, "/etc/ssl/gql-users/fullchain.pem", str(cert))
    return replace_once(site, "/etc/ssl/gql-users/privkey.pem", str(key))


def nginx_main(directory: Path, site: str) -> Path:
    """A main configuration that includes ``site`` in its ``http`` block, as Debian's does, with
    the pid file, logs and every temporary directory under ``directory`` (nothing written to
    the machine's nginx directories)."""
    (directory / "site.conf").write_text(site)
    main_conf = directory / "nginx-main.conf"
    temp_paths = [
        f"    {kind}_temp_path {directory}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    ]
    lines = [
        f"pid {directory}/nginx.pid;",
        f"error_log {directory}/error.log;",
        "events {}",
        "http {",
        "    access_log off;",
        *temp_paths,
        f"    include {directory}/site.conf;",
        "}",
    ]
    main_conf.write_text("\n".join(lines) + "\n")
    return main_conf


def nginx_command(directory: Path, main_conf: Path) -> list[str]:
    nginx = program("nginx", "nginx-light")
    return [nginx, "-p", str(directory), "-c", str(main_conf), "-e", str(directory / "error.log")]


def test_the_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    main_conf = nginx_main(tmp_path, nginx_site(cert, key))
    checked = subprocess.run(
        [*nginx_command(tmp_path, main_conf), "-t"], capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


def https_get(port: int, path: str, headers: dict[str, str], source: str) -> tuple[int, bytes]:
    """GET over TLS (the test's self-signed certificate), from the local address ``source``."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection(
        "127.0.0.1", port, context=context, timeout=10, source_address=(source, 0)
    )
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while True:
        assert process.poll() is None, f"nginx exited:\n{log.read_text(errors='replace')}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "nginx did not listen within 15 s"
            time.sleep(0.1)


async def test_a_request_through_nginx_reaches_the_service_from_the_client_address(
    tmp_path: Path, start_serve: StartServe, factory: Factory
) -> None:
    """nginx (the guide's site, on free ports) in front of ``gql-users serve`` trusting
    127.0.0.1, as the guide says: the service sees the client's address, not the proxy's, and
    not one the client wrote into its own ``X-Forwarded-For``; WebSocket upgrades (GraphQL
    subscriptions) pass through."""
    cert, key = self_signed_certificate(tmp_path)
    user = await factory.user("behindproxy")
    auth = await factory.auth(user)
    await factory.session.close()
    serve = start_serve(workers=2, env={"GQL_USERS_TRUSTED_PROXIES": '["127.0.0.1"]'})

    https_port, http_port = free_port(), free_port()
    site = nginx_site(cert, key)
    site = replace_once(site, "    listen 80;\n", f"    listen 127.0.0.1:{http_port};\n")
    site = replace_once(
        site, "    listen 443 ssl http2;", f"    listen 127.0.0.1:{https_port} ssl http2;"
    )
    site = re.sub(r"^\s*listen \[::\].*\n", "", site, flags=re.MULTILINE)  # no IPv6 needed here
    site = replace_once(site, "server 127.0.0.1:8000;", f"server 127.0.0.1:{serve.port};")
    main_conf = nginx_main(tmp_path, site)
    log = tmp_path / "nginx.out"
    with log.open("wb") as out:
        nginx = subprocess.Popen(
            [*nginx_command(tmp_path, main_conf), "-g", "daemon off;"], stdout=out, stderr=out
        )
    try:
        wait_for_port(https_port, nginx, log)
        # The client is 127.0.0.3 (all of 127.0.0.0/8 is this host); nginx reaches the service
        # from 127.0.0.1, the trusted proxy.
        status, body = await asyncio.to_thread(
            https_get,
            https_port,
            "/api/users/me/?field=ip_address",
            {**auth, "X-Forwarded-For": "198.51.100.9"},
            "127.0.0.3",
        )
        assert status == 200, body
        assert json.loads(body) == {"ip_address": "127.0.0.3"}
        # A subscription's WebSocket upgrade gets through (connect waits for connection_ack).
        async with (
            aiohttp.ClientSession() as client,
            connect(
                client,
                f"wss://127.0.0.1:{https_port}/graphql",
                auth["Authorization"].removeprefix("Token "),
                ssl=False,
            ) as subscriptions,
        ):
            await subscriptions.subscribe("subscription { usersChanged { uuid } }")
            await subscriptions.nothing()
        # Plain HTTP is sent to HTTPS.
        connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
        connection.request("GET", "/api/users/me/", headers={"Host": "users.example.org"})
        redirect = connection.getresponse()
        connection.close()
        assert redirect.status == 301
        assert redirect.headers["Location"] == "https://users.example.org/api/users/me/"
    finally:
        nginx.send_signal(signal.SIGTERM)
        try:
            nginx.wait(timeout=15)
        except subprocess.TimeoutExpired:
            nginx.kill()
            nginx.wait()


# --- Caddy and systemd ------------------------------------------------------------------------


def test_the_caddyfile_passes_caddy_validate(tmp_path: Path) -> None:
    caddy = program("caddy", "caddy")
    # Caddy keeps its state under the home and XDG directories: the test's own, here.
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}  # fmt: skip
    checked = subprocess.run(
        [caddy, "validate", "--adapter", "caddyfile", "--config", str(CADDYFILE)],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Valid configuration" in checked.stdout + checked.stderr


def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = program("systemd-analyze", "systemd")
    # The unit names the guide's install directory; verify checks that ExecStart exists there,
    # so the test installs this checkout's console script into a directory of its own.
    root = tmp_path / "root"
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / "var").mkdir()
    script = Path(gql_users_command()[0])
    if script.name != "gql-users":
        pytest.skip("the gql-users console script is not installed next to this interpreter")
    (root / ".venv" / "bin" / "gql-users").symlink_to(script)
    unit = tmp_path / UNIT.name
    text = UNIT.read_text()
    assert EXAMPLE_ROOT in text
    unit.write_text(text.replace(EXAMPLE_ROOT, str(root)))
    checked = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    output = checked.stdout + checked.stderr
    # verify reports a bad line as a warning and still exits 0: any line about the unit fails.
    assert checked.returncode == 0, output
    assert [line for line in output.splitlines() if UNIT.name in line] == []


# --- the guide against the code ---------------------------------------------------------------


def deployment_texts() -> dict[str, str]:
    files = [GUIDE, *sorted(path for path in DEPLOY.iterdir() if path.is_file())]
    return {str(path.relative_to(REPO_ROOT)): path.read_text() for path in files}


def test_the_guide_and_its_files_name_only_settings_that_exist() -> None:
    existing = {f"GQL_USERS_{name.upper()}" for name in Settings.model_fields}
    named = {
        (name, setting)
        for name, text in deployment_texts().items()
        for setting in SETTING.findall(text)
    }
    assert named, "the guide names no setting at all"
    assert sorted((name, setting) for name, setting in named if setting not in existing) == []


def test_the_guides_environment_file_is_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example /etc/gql-users/env, read the way systemd reads it (shell quoting), gives
    valid settings with the values it shows."""
    block = re.search(r"```sh\n(GQL_USERS_DATABASE_URL=.*?)```", GUIDE.read_text(), re.DOTALL)
    assert block is not None, "the guide's example environment file"
    values = dict(shlex.split(line)[0].split("=", 1) for line in block[1].splitlines())
    for name in list(os.environ):
        if name.startswith("GQL_USERS_"):
            monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert [str(network) for network in settings.trusted_proxies] == ["127.0.0.1/32"]
    assert settings.workers == int(values["GQL_USERS_WORKERS"])
    assert settings.cursor_secret == values["GQL_USERS_CURSOR_SECRET"]


def code_in_guide() -> str:
    """The guide's code (fenced blocks and inline spans) and the unit's command lines."""
    guide = GUIDE.read_text()
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", guide, re.DOTALL | re.MULTILINE)
    prose = re.sub(r"^```[a-z]*\n.*?^```", "", guide, flags=re.DOTALL | re.MULTILINE)
    spans = re.findall(r"`([^`\n]+)`", prose)
    exec_lines = re.findall(r"^Exec\w+=(.*)$", UNIT.read_text(), re.MULTILINE)
    return "\n".join([*blocks, *spans, *exec_lines])


def test_the_guide_runs_only_commands_and_options_that_exist() -> None:
    uses = re.findall(r"\bgql-users ([a-z][a-z-]*)((?: +--?[a-z][a-z-]*(?: [^-\s][^\s]*)?)*)",
                      code_in_guide())  # fmt: skip
    assert {"serve", "migrate"} <= {command for command, _ in uses}
    for command, arguments in uses:
        assert command in main.commands, f"gql-users {command}"
        options = {
            option
            for parameter in main.commands[command].params
            if isinstance(parameter, click.Option)
            for option in parameter.opts
        }
        for option in re.findall(r"(?<!\S)--?[a-z][a-z-]*", arguments):
            assert option in options, f"gql-users {command} {option}"


def test_the_guide_links_every_deployment_file() -> None:
    guide = GUIDE.read_text()
    linked = set(re.findall(r"\]\((deploy/[^)#]+)\)", guide))
    files = {f"deploy/{path.name}" for path in DEPLOY.iterdir()}
    assert linked == files
