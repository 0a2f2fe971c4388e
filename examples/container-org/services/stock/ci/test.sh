#!/bin/sh
# CI validate step: the CGI scripts and set-level run as in the image (BusyBox's shell and
# applets), against stock levels in a scratch directory.
set -eu
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export SHOP_LIB="$PWD/lib" STOCK_LEVELS="$scratch/levels" SERVICE_VERSION=9.9.9
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
expect version '' 'stock 9.9.9'
expect level 'sku=widget' 'Status: 404'
busybox sh bin/set-level widget 5
expect level 'sku=widget' 5
expect take 'sku=widget&qty=2' 3
expect take 'sku=widget&qty=4' 'Status: 409'
expect take 'sku=widget&qty=0' 'Status: 400'
expect level 'sku=widget' 3
if busybox sh bin/set-level widget lots 2>/dev/null; then
  echo "FAILED: set-level accepted a count that is not a number"
  failures=$((failures + 1))
fi
test ! -e "$STOCK_LEVELS/.lock"  # every take let go of the lock
test "$failures" -eq 0
