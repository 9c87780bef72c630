#!/usr/bin/env bash
# Prepares what the real-server tests need on this machine: Debian's OpenSSH
# server and PostgreSQL server (each started per test session by
# tests/servers/sshd.py and tests/servers/postgres.py, never as a system
# service), an unprivileged account the SFTP tests log in as; and systemd's
# tools, with which tests/test_deploy.py verifies the service unit.
set -euo pipefail
USER_NAME=sftptest
USER_PASS=sftptest-pw

have_postgres() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; }

if [ "$(id -u)" != 0 ]; then
  if [ -x /usr/sbin/sshd ] && id "$USER_NAME" >/dev/null 2>&1 && have_postgres; then exit 0; fi
  echo "tests/servers/setup.sh: run as root once (installs openssh-server and postgresql, creates user $USER_NAME)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
have_postgres && id postgres >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (needed by the SFTP and PostgreSQL tests)"
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v systemd-analyze >/dev/null; then
  echo "installing systemd's tools (tests/test_deploy.py verifies the service unit)"
  apt-get update -qq
  apt-get install -y -qq systemd >/dev/null
fi
id "$USER_NAME" >/dev/null 2>&1 || useradd --no-create-home --home-dir /upload --shell /usr/sbin/nologin "$USER_NAME"
echo "$USER_NAME:$USER_PASS" | chpasswd
mkdir -p /run/sshd /srv
