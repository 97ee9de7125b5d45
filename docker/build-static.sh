#!/bin/sh
# Build what production serves from disk: compiled translations and the static files (hashed,
# compressed, with their manifest), exactly as production runs: DEBUG=false.
# The image runs this (docker/Dockerfile), and so does tests/production/test_gunicorn.py.
#   PYTHON=.venv/bin/python STATIC_ROOT=/tmp/static sh docker/build-static.sh
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
export DEBUG=false
# The build signs nothing; it needs a key only because production settings refuse to load
# without a strong one. A throwaway random key is made when none is given.
if [ -z "${SECRET_KEY:-}" ]; then
  SECRET_KEY="$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))')"
fi
export SECRET_KEY
"$PYTHON" manage.py compilemessages --ignore=node_modules --ignore=.venv -v 0
"$PYTHON" manage.py collectstatic --noinput --clear -v 0
