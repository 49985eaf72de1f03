# Sourced by scripts/ensure-fonts and scripts/ensure-chromium (POSIX sh): installs Debian's
# packages with apt-get (as root, or with password-less sudo). It waits up to 5 minutes for
# another package manager to finish (apt's own DPkg::Lock::Timeout, apt 1.9.11 or newer) and,
# when it cannot install, prints the one command that does and exits 1.

APT_LOCK_TIMEOUT=300
APT_LOCKS="/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock"

# The pids holding the package manager's locks (fuser, from psmisc), or of running package
# managers (pgrep, from procps); empty when none, or when neither tool is there.
apt_lock_holders() {
  if command -v fuser >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    fuser $APT_LOCKS 2>/dev/null | tr -s ' \n' '  ' | sed 's/^ *//; s/ *$//'
  elif command -v pgrep >/dev/null 2>&1; then
    pgrep -x 'apt|apt-get|aptitude|dpkg|unattended-upgr' | tr '\n' ' ' | sed 's/ *$//'
  fi
}

# apt_install WHAT PACKAGE...: install the packages, WHAT saying what needs them.
apt_install() {
  what=$1
  shift
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    SUDO=none
  fi
  fix="${SUDO:+sudo }apt-get update && ${SUDO:+sudo }apt-get install -y --no-install-recommends $*"
  if [ "$SUDO" = none ]; then
    echo "$what need Debian's packages: $*" >&2
    echo "Install them with:" >&2
    echo "    $fix" >&2
    exit 1
  fi
  holders=$(apt_lock_holders)
  if [ -n "$holders" ]; then
    echo "waiting for another package manager to finish (process $holders; up to 5 minutes)..."
  fi
  echo "Installing Debian's $* for $what (apt-get)..."
  log=$(mktemp)
  apt="apt-get -o DPkg::Lock::Timeout=$APT_LOCK_TIMEOUT"
  # shellcheck disable=SC2086
  if $SUDO env DEBIAN_FRONTEND=noninteractive $apt update -qq >/dev/null 2>"$log" \
    && $SUDO env DEBIAN_FRONTEND=noninteractive $apt install -y -qq --no-install-recommends \
      "$@" >/dev/null 2>>"$log"; then
    rm -f "$log"
    return 0
  fi
  grep '^E:' "$log" >&2 || cat "$log" >&2
  holder=$(sed -n 's/.*held by process \([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
  rm -f "$log"
  if [ -n "$holder" ]; then
    echo "Another package manager (process $holder) held the lock for 5 minutes." >&2
    echo "Let it finish (or stop it: ${SUDO:+sudo }kill $holder), then run:" >&2
  else
    echo "apt-get could not install them; run it yourself to see why:" >&2
  fi
  echo "    $fix" >&2
  exit 1
}
