# Sourced by the set-up scripts.

# install_missing PACKAGE...: installs those of the Debian packages that are not installed yet.
install_missing() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  apt_install "${missing[@]}"
}

# install_for_commands COMMAND:PACKAGE...: installs the package of each command not on PATH (a
# command may come from elsewhere than Debian's package: Node.js's npm often does).
install_for_commands() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  apt_install "${missing[@]}"
}

# apt_install PACKAGE...: apt-get install (sudo when not root); nothing when given nothing.
apt_install() {
  [ $# -gt 0 ] || return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing $* with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
