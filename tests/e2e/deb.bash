# SPDX-License-Identifier: Apache-2.0
# Shared by tests/e2e/deb.sh and tests/e2e/readme_install.sh (source it; not a test itself).
# deb_get: prints the path of the vmseal .deb (`make deb` builds it only when a source file is
# newer than the last one, so that one `make check` builds it once).
# deb_lock: the package installs /etc/libvirt/hooks/qemu.d/vmseal, which tests/e2e/libvirt.sh
# also uses: take its lock.

deb_missing() {
	[ "$(id -u)" = 0 ] || { echo "needs root (installs and purges the package)"; return; }
	local b
	for b in dpkg apt-get dpkg-deb; do
		command -v $b >/dev/null || { echo "$b not installed"; return; }
	done
	if dpkg-query -W -f='${Status}' vmseal 2>/dev/null | grep -q 'installed'; then
		echo "a vmseal package is installed on this machine; not touching it"; return
	fi
	if [ -e /etc/libvirt/hooks/qemu.d/vmseal ] || [ -L /etc/libvirt/hooks/qemu.d/vmseal ]; then
		echo "/etc/libvirt/hooks/qemu.d/vmseal exists (make install-hook?); not touching it"; return
	fi
}

deb_lock() {
	exec 9>/run/lock/vmseal-e2e-libvirt.lock
	flock -w 300 9 || { echo "another run holds /run/lock/vmseal-e2e-libvirt.lock"; return 1; }
}

deb_get() { # `make deb` rebuilds only when a source file is newer than the .deb
	make -s -C "$top" ${SAN:+SAN=1} deb >"$T/make-deb.log" 2>&1 || { tail -30 "$T/make-deb.log" >&2; return 1; }
	tail -1 "$T/make-deb.log"
}
