# Sourced by the build scripts: sets $python312 to a Python 3.12 interpreter (the Lambda
# runtime's version), from PATH or pyenv, or exits saying none was found.
find_python312() {
  if command -v python3.12 >/dev/null 2>&1 && python3.12 -c "" 2>/dev/null; then
    command -v python3.12
    return
  fi
  if command -v pyenv >/dev/null 2>&1; then
    local version
    version="$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.[0-9]+)?$' | sort -V | tail -n 1)"
    if [ -n "$version" ]; then
      echo "$(pyenv prefix "$version")/bin/python3.12"
      return
    fi
  fi
  return 1
}

python312="$(find_python312)" || {
  echo "a python3.12 interpreter is needed on PATH (the functions' runtime)" >&2
  exit 1
}
