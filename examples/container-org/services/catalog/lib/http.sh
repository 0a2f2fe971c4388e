# CGI helpers, sourced by the scripts in srv/cgi-bin. BusyBox httpd runs a script per request
# with the request's query in QUERY_STRING and sends what the script prints; a `Status:` line
# sets the HTTP status (200 without one).

# query NAME: the value of NAME in the query string, if it is a word of a-z, 0-9 and '-' (the
# only values the shop's requests carry); nothing otherwise.
query() {
  value=$(printf '%s\n' "${QUERY_STRING:-}" | tr '&' '\n' | sed -n "s/^$1=//p" | head -n 1)
  case "$value" in
    ''|*[!a-z0-9-]*) ;;
    *) printf '%s\n' "$value" ;;
  esac
}

# reply STATUS [LINE...]: a text/plain answer, one line per argument.
reply() {
  printf 'Status: %s\r\nContent-Type: text/plain\r\n\r\n' "$1"
  shift
  for line in "$@"; do
    printf '%s\n' "$line"
  done
}
