#!/bin/sh
# CI validate step: each CGI script run as httpd runs it, with BusyBox's shell and applets (the
# image's), against the catalog in srv/data.
set -eu
export SHOP_LIB="$PWD/lib" CATALOG_ITEMS="$PWD/srv/data/items" SERVICE_VERSION=9.9.9
failures=0

# expect NAME QUERY TEXT: the script answers QUERY with output containing TEXT.
expect() {
  out=$(QUERY_STRING=$2 busybox sh "srv/cgi-bin/$1")
  case "$out" in
    *"$3"*) echo "ok: $1?$2" ;;
    *) echo "FAILED: $1?$2 should say '$3', said: $out"; failures=$((failures + 1)) ;;
  esac
}

expect health '' ok
expect version '' 'catalog 9.9.9'
expect items '' 'widget 999 Widget'
expect item 'sku=gadget' 'gadget 2450 Gadget'
expect item 'sku=nothing' 'Status: 404'
expect item 'sku=../etc' 'Status: 400'
expect item '' 'Status: 400'
test "$failures" -eq 0
