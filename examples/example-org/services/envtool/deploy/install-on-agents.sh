#!/bin/sh
# Installs envtool's Debian package on the Jenkins agents (the deliver job's deploy command).
#
#   install-on-agents.sh INVENTORY PACKAGE.deb...
#
# INVENTORY lists one agent per line: the root directory of the agent's file system (blank
# lines and lines starting with # are skipped). Each package is unpacked there with
# `dpkg-deb -x`, so the agent runs envtool from <agent>/opt/envtool.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: install-on-agents.sh INVENTORY PACKAGE.deb..." >&2
  exit 2
fi
inventory=$1
shift
if [ ! -f "$inventory" ]; then
  echo "install-on-agents: no inventory file $inventory" >&2
  exit 2
fi
agents=0
while IFS= read -r agent || [ -n "$agent" ]; do
  case $agent in
    '' | '#'*) continue ;;
  esac
  for package in "$@"; do
    dpkg-deb -x "$package" "$agent"
    echo "installed $(basename "$package") on $agent"
  done
  agents=$((agents + 1))
done < "$inventory"
if [ "$agents" -eq 0 ]; then
  echo "install-on-agents: $inventory lists no agents" >&2
  exit 1
fi
