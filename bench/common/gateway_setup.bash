# SPDX-License-Identifier: Apache-2.0
# Shared by bench/gateway.sh, fleet.sh, templates.sh and gateway_junk.sh (sourced, not run:
# bench/run.sh only runs bench/*.sh). Needs top, BUILD, PKG_CONFIG set and vmseal-key on PATH.

# Builds the load generator into $load.
build_gateway_load() {
	load=$top/$BUILD/bench/gateway_load
	${CC:-cc} -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -iquote "$top" \
		-o "$load" "$top/bench/gateway_load.c" "$top/$BUILD/libvmseal.a" \
		$($PKG_CONFIG --cflags --libs openssl jansson libcurl) -lpthread
}

# bench_workdir NAME: a fresh $work ($top/$BUILD/bench/NAME), the current directory from now on
# (umask 077); on exit the gateway in $gwpid (when set) is stopped and $work removed.
bench_workdir() {
	work=$top/$BUILD/bench/$1
	rm -rf "$work"
	mkdir -p "$work"
	gwpid=
	trap '[ -n "$gwpid" ] && kill $gwpid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
	cd "$work"
	umask 077
}

# In the current directory: the caller's key viewer.{key,pub}, the response key
# gwresp.{key,pub}, and a throwaway TLS certificate tls.{crt,key}.
make_gateway_keys() {
	vmseal-key generate --out viewer --no-passphrase >/dev/null
	vmseal-key generate --out gwresp --no-passphrase >/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.crt \
		-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null
}
