#!/bin/sh
# meson install step: installs SOURCE as TARGET (an absolute path, under $DESTDIR when set)
# unless TARGET exists: a configuration file edited by the admin survives a reinstall.
set -eu
src=$1
dst=${DESTDIR:-}$2
if [ -e "$dst" ] || [ -L "$dst" ]; then
  echo "Keeping existing $dst"
  exit 0
fi
if [ -n "${MESON_INSTALL_DRY_RUN:-}" ]; then
  echo "Would install $src to $dst"
  exit 0
fi
install -D -m 0644 "$src" "$dst"
echo "Installing $src to $dst"
