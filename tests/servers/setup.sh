#!/usr/bin/env bash
# Prepares what the SFTP tests need on this machine: Debian's OpenSSH server
# (started per test session by tests/servers/sshd.py, never as a system
# service) and an unprivileged account the tests log in as; and systemd's
# tools, with which tests/test_deploy.py verifies the service unit.
set -euo pipefail
USER_NAME=sftptest
USER_PASS=sftptest-pw

if [ "$(id -u)" != 0 ]; then
  if [ -x /usr/sbin/sshd ] && id "$USER_NAME" >/dev/null 2>&1; then exit 0; fi
  echo "tests/servers/setup.sh: run as root once (installs openssh-server, creates user $USER_NAME)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ ! -x /usr/sbin/sshd ]; then
  echo "installing openssh-server (needed by the SFTP tests)"
  apt-get update -qq
  apt-get install -y -qq openssh-server >/dev/null
fi
if ! command -v systemd-analyze >/dev/null; then
  echo "installing systemd's tools (tests/test_deploy.py verifies the service unit)"
  apt-get update -qq
  apt-get install -y -qq systemd >/dev/null
fi
id "$USER_NAME" >/dev/null 2>&1 || useradd --no-create-home --home-dir /upload --shell /usr/sbin/nologin "$USER_NAME"
echo "$USER_NAME:$USER_PASS" | chpasswd
mkdir -p /run/sshd /srv
