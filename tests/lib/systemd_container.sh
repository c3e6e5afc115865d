# shellcheck shell=bash
# A Debian root booted with systemd as PID 1 in containers of its own
# (mount, PID, UTS, IPC, network with only lo), for tests of what systemd
# does with the unit: readiness, reload, restart, hardening, the journal.
# Source it; call the functions from the test's main shell (not in $(...)):
#
#   sc_need                      tools and kernel features present? (prints what is missing)
#   sc_runtime_packages BIN      Debian packages of BIN's shared libraries (NEEDED)
#   sc_image PKG...              SC_IMAGE: a cached Debian root with systemd and PKG...
#   sc_boot NAME                 boot SC_IMAGE; SC_LEADER is the container's PID 1 (host PID)
#   sc_exec CMD...               run CMD inside (all its namespaces), time-limited
#   sc_net CMD...                run a host command in the container's network namespace
#   sc_rootfs                    the container's root as seen from the host (/proc/PID/root)
#   sc_wait SECONDS CMD...       until CMD succeeds (every 0.2 s), at most SECONDS
#   sc_debug                     what went wrong: boot log, failed units, journal tail
#   sc_shutdown                  clean poweroff, then force; removes everything (idempotent)
#   sc_on_exit                   for the EXIT trap: sc_debug on failure, sc_shutdown, and
#                                returns the test's status: trap 'sc_on_exit; e2e_cleanup' EXIT
#
# The root is built once by debootstrap from the Debian mirror apt already
# uses (apt's own index targets, no host name here) and kept under
# SC_CACHE, keyed by a hash of the suite and the package list; each boot
# runs on a throwaway overlay of it, so the cache stays pristine. Nothing
# outlives the test: the container runs in a PID namespace whose holder
# dies with the test's shell (PR_SET_PDEATHSIG), the overlay lives in that
# holder's mount namespace, and sc_shutdown removes the cgroups and
# directories it made.
#
# systemd-nspawn is run with --register=no: there may be no machined (and
# on hosts not booted with systemd, no system bus) to register with.
# Without systemd and D-Bus on the host it also gets --keep-unit and a
# cgroup made here, under which it creates its payload/supervisor groups,
# so that containers side by side never share one. The container gets
# CAP_BPF and CAP_PERFMON (CAP_NET_ADMIN comes with its private network)
# and the bpf(), perf_event_open() and open_by_handle_at() system calls
# (cgroup ids to paths), which nspawn's own
# seccomp filter refuses by default. It has no network beyond its lo: give
# sc_image every package the test installs or runs inside.

SC_CACHE=${SC_CACHE:-/var/cache/wstrace-test-systemd}
SC_SUITE=${SC_SUITE:-bookworm}
SC_BASE_PACKAGES="systemd systemd-sysv dbus"
SC_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
SC_EXEC_TIMEOUT=${SC_EXEC_TIMEOUT:-60}
SC_BOOT_TIMEOUT=${SC_BOOT_TIMEOUT:-120}
SC_IMAGE=
SC_NAME=
SC_RUN=
SC_LAUNCHER=
SC_NSPAWN=
SC_LEADER=
SC_CGROUPS=()

sc_err() { echo "systemd container: $*" >&2; }

# sc_wait SECONDS CMD...: until CMD succeeds, polling every 0.2 s.
sc_wait() {
	# An unusual name: CMD may be a function reading its caller's locals.
	local _sc_end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$_sc_end" ] || return 1
		sleep 0.2
	done
}

# sc_need: prints what is missing (Debian package in brackets), fails if anything is.
sc_need() {
	local missing=() t
	[ "$(id -u)" -eq 0 ] || missing+=("root")
	for t in debootstrap:debootstrap systemd-nspawn:systemd-container unshare:util-linux \
		setpriv:util-linux nsenter:util-linux flock:util-linux objdump:binutils apt-get:apt; do
		command -v "${t%%:*}" >/dev/null || missing+=("${t%%:*} (${t#*:})")
	done
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
		missing+=("overlay file system")
	[ "${#missing[@]}" -eq 0 ] && return 0
	echo "missing: ${missing[*]}"
	return 1
}

# sc_mirror: the URI of the Debian archive apt uses for SC_SUITE, from apt's
# index targets (needs `apt-get update` to have run).
sc_mirror() {
	local uri
	# shellcheck disable=SC2016 # $(REPO_URI) is apt's format, not the shell's
	uri=$(apt-get indextargets --format '$(REPO_URI)' "Codename: $SC_SUITE" \
		'Origin: Debian' 'Label: Debian' 'Identifier: Packages' 2>/dev/null | head -n1)
	[ -n "$uri" ] || { sc_err "no Debian $SC_SUITE source in apt's lists (apt-get update?)"; return 1; }
	echo "$uri"
}

# sc_runtime_packages BINARY: the packages that ship BINARY's NEEDED
# libraries here, so the container gets exactly what the binary links.
sc_runtime_packages() {
	local bin=$1 lib path p pkg
	[ -r "$bin" ] || { sc_err "cannot read $bin"; return 1; }
	for lib in $(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}'); do
		path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|AArch64|64bit/ {print $NF; exit}')
		[ -n "$path" ] || path=$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')
		[ -n "$path" ] || { sc_err "$lib (needed by $bin) is not installed"; return 1; }
		pkg=
		# usrmerge: dpkg knows the file under one of /lib and /usr/lib.
		for p in "$path" "/usr$path" "${path#/usr}" "$(readlink -f "$path")"; do
			pkg=$(dpkg-query -S "$p" 2>/dev/null | head -n1 | cut -d: -f1) && [ -n "$pkg" ] && break
		done
		[ -n "$pkg" ] || { sc_err "no Debian package ships $path"; return 1; }
		echo "$pkg"
	done | sort -u
}

# sc_image PKG...: sets SC_IMAGE to a Debian root with systemd and PKG...,
# built by debootstrap the first time (a minute or more) and reused after.
sc_image() {
	local pkgs key dir log fd mirror
	# shellcheck disable=SC2086 # one package per word
	pkgs=$(printf '%s\n' $SC_BASE_PACKAGES "$@" | sort -u | paste -sd, -)
	key=$(printf 'format 1\nsuite %s\nvariant minbase\npackages %s\n' "$SC_SUITE" "$pkgs" |
		sha256sum | cut -c1-16)
	dir=$SC_CACHE/root-$key
	log=$SC_CACHE/root-$key.log
	mkdir -p "$SC_CACHE" || return 1
	# Two tests building the same root wait for one another.
	exec {fd}>"$dir.lock"
	if ! flock -w 1200 "$fd"; then
		exec {fd}>&-
		sc_err "timed out waiting for another build of $dir"
		return 1
	fi
	if [ ! -d "$dir" ]; then
		if ! mirror=$(sc_mirror); then exec {fd}>&-; return 1; fi
		echo "systemd container: building $dir ($pkgs) from $mirror" >&2
		rm -rf "$dir.tmp"
		if ! timeout 1200 debootstrap --variant=minbase --include="$pkgs" "$SC_SUITE" \
			"$dir.tmp" "$mirror" >"$log" 2>&1; then
			tail -n 20 "$log" >&2
			rm -rf "$dir.tmp"
			exec {fd}>&-
			sc_err "debootstrap failed (log: $log)"
			return 1
		fi
		rm -rf "$dir.tmp"/var/cache/apt/archives/*.deb "$dir.tmp"/var/lib/apt/lists/*
		echo "$pkgs" >"$dir.packages"
		mv "$dir.tmp" "$dir" # complete roots only: a rename is atomic
	fi
	exec {fd}>&-
	SC_IMAGE=$dir
}

# The hierarchies nspawn puts its cgroups in when no systemd runs the host:
# "MOUNTPOINT CURRENT-PATH" per line.
sc_cgroup_hierarchies() {
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
		echo "/sys/fs/cgroup $(sed -n 's/^0:://p' /proc/self/cgroup)"
		return
	fi
	[ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] &&
		echo "/sys/fs/cgroup/unified $(sed -n 's/^0:://p' /proc/self/cgroup)"
	[ -d /sys/fs/cgroup/systemd ] &&
		echo "/sys/fs/cgroup/systemd $(sed -n 's/^[0-9]*:name=systemd://p' /proc/self/cgroup)"
}

# Leftovers of tests that were killed outright: run directories and cgroups
# whose owning shell is gone.
sc_prune() {
	local d pid mnt path name
	for d in "$SC_CACHE"/run-*; do
		[ -d "$d" ] || continue
		pid=${d##*/run-}; pid=${pid%%-*}
		kill -0 "$pid" 2>/dev/null && continue
		name=$(cat "$d/name" 2>/dev/null)
		[ -n "$name" ] && rm -rf "/run/systemd/nspawn/propagate/$name"
		rm -rf "$d"
	done
	while read -r mnt path; do
		for d in "$mnt${path%/}"/wstrace-sc-*; do
			[ -d "$d" ] || continue
			pid=${d##*/wstrace-sc-}; pid=${pid%%-*}
			kill -0 "$pid" 2>/dev/null || find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		done
	done < <(sc_cgroup_hierarchies)
}

# sc_boot NAME: boots SC_IMAGE as machine NAME (a host name: letters, digits,
# '-'); returns once systemd reports running (or degraded, with the failed
# units printed). Must run in the test's main shell: the container is tied
# to it.
sc_boot() {
	local name=$1 mnt path cg keep_unit=() state pid end
	[ -n "$SC_IMAGE" ] || { sc_err "sc_image first"; return 1; }
	sc_prune
	SC_NAME=$name
	SC_RUN=$(mktemp -d "$SC_CACHE/run-$$-XXXXXX") || return 1
	mkdir "$SC_RUN/upper" "$SC_RUN/work" "$SC_RUN/root"
	echo "$name" >"$SC_RUN/name"
	# nspawn asks the host's systemd for a scope over D-Bus; without both,
	# it runs in cgroups made here.
	if [ ! -d /run/systemd/system ] || [ ! -S /run/dbus/system_bus_socket ]; then
		keep_unit=(--keep-unit)
		while read -r mnt path; do
			cg="$mnt${path%/}/wstrace-sc-$$-$name"
			mkdir -p "$cg" || return 1
			SC_CGROUPS+=("$cg")
		done < <(sc_cgroup_hierarchies)
	fi
	# The holder: moves itself into the cgroups, dies with this shell
	# (pdeathsig), and is PID 1's parent in a PID namespace, so that killing
	# it takes the whole container along (--kill-child). The overlay is
	# mounted in its private mount namespace and vanishes with it.
	(
		for cg in "${SC_CGROUPS[@]}"; do echo "$BASHPID" >"$cg/cgroup.procs" || exit 1; done
		export SYSTEMD_NSPAWN_LOCK=0 # no lock files left in /run
		# shellcheck disable=SC2016 # $1, $2: the inner shell's arguments
		exec setpriv --pdeathsig KILL unshare --mount --propagation private --pid --fork \
			--kill-child --mount-proc sh -c '
			mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$2/root" || exit 1
			shift 2
			exec systemd-nspawn "$@"' sh "$SC_IMAGE" "$SC_RUN" \
			--directory="$SC_RUN/root" --machine="$name" --boot --register=no "${keep_unit[@]}" \
			--private-network --capability=CAP_BPF,CAP_PERFMON \
			--system-call-filter='bpf perf_event_open open_by_handle_at' --console=pipe --link-journal=no \
			--resolv-conf=off --timezone=off
	) </dev/null >"$SC_RUN/boot.log" 2>&1 &
	SC_LAUNCHER=$!

	# Host PIDs: holder -> systemd-nspawn -> the container's systemd.
	for _ in $(seq 1 150); do
		kill -0 "$SC_LAUNCHER" 2>/dev/null || break
		SC_NSPAWN=$(awk '{print $1}' "/proc/$SC_LAUNCHER/task/$SC_LAUNCHER/children" 2>/dev/null)
		if [ -n "$SC_NSPAWN" ]; then
			while read -r -d' ' pid; do
				[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ] && SC_LEADER=$pid
			done <"/proc/$SC_NSPAWN/task/$SC_NSPAWN/children" 2>/dev/null
		fi
		[ -n "$SC_LEADER" ] && break
		sleep 0.2
	done
	if [ -z "$SC_LEADER" ]; then
		cat "$SC_RUN/boot.log" >&2
		sc_err "systemd did not start in the container"
		return 1
	fi
	end=$((SECONDS + SC_BOOT_TIMEOUT))
	while [ "$SECONDS" -lt "$end" ]; do
		state=$(SC_EXEC_TIMEOUT=10 sc_exec systemctl is-system-running 2>/dev/null)
		case $state in running | degraded) break ;; esac
		kill -0 "$SC_LEADER" 2>/dev/null || break
		sleep 0.2
	done
	case $state in
	running) return 0 ;;
	degraded)
		sc_err "booted degraded:"
		sc_exec systemctl --no-legend --failed >&2
		return 0
		;;
	esac
	sc_debug
	sc_err "systemd did not finish booting within ${SC_BOOT_TIMEOUT}s (state: ${state:-none})"
	return 1
}

# sc_exec CMD...: CMD inside the container (its mount, PID, network, UTS,
# IPC and cgroup namespaces, its root), with a clean environment.
sc_exec() {
	[ -n "$SC_LEADER" ] || { sc_err "not booted"; return 1; }
	timeout -k 5 "$SC_EXEC_TIMEOUT" nsenter --target "$SC_LEADER" --all --root --wd \
		env -i PATH="$SC_PATH" LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 "$@"
}

# sc_net CMD...: a host program in the container's network namespace only
# (host files, container's lo): peers, scrapers, BPF queries.
sc_net() {
	[ -n "$SC_LEADER" ] || { sc_err "not booted"; return 1; }
	nsenter --target "$SC_LEADER" --net "$@"
}

sc_rootfs() { echo "/proc/$SC_LEADER/root"; }

sc_debug() {
	[ -n "$SC_RUN" ] && [ -f "$SC_RUN/boot.log" ] && { echo "--- container console (tail)"; tail -n 30 "$SC_RUN/boot.log"; }
	[ -n "$SC_LEADER" ] && kill -0 "$SC_LEADER" 2>/dev/null || return 0
	echo "--- failed units"
	SC_EXEC_TIMEOUT=10 sc_exec systemctl --no-legend --failed
	echo "--- journal (tail)"
	SC_EXEC_TIMEOUT=10 sc_exec journalctl --no-pager -n 40
}

# sc_shutdown: poweroff (nspawn turns SIGTERM into a clean halt), at most
# 30 s, then kill the holder, which takes the PID namespace down with it.
sc_shutdown() {
	local cg
	if [ -n "$SC_LAUNCHER" ]; then
		[ -n "$SC_NSPAWN" ] && kill -TERM "$SC_NSPAWN" 2>/dev/null
		for _ in $(seq 1 150); do kill -0 "$SC_LAUNCHER" 2>/dev/null || break; sleep 0.2; done
		if kill -0 "$SC_LAUNCHER" 2>/dev/null; then
			sc_err "container did not halt within 30 s: killing it"
			kill -KILL "$SC_LAUNCHER" 2>/dev/null
		fi
		wait "$SC_LAUNCHER" 2>/dev/null
		# The PID namespace empties asynchronously after its init is killed.
		[ -n "$SC_LEADER" ] && sc_wait 10 sh -c "! kill -0 $SC_LEADER"
	fi
	for cg in "${SC_CGROUPS[@]}"; do
		sc_wait 10 sh -c "find '$cg' -depth -type d -exec rmdir {} + 2>/dev/null; [ ! -d '$cg' ]" ||
			sc_err "could not remove cgroup $cg"
	done
	[ -n "$SC_NAME" ] && rm -rf "/run/systemd/nspawn/propagate/$SC_NAME"
	[ -n "$SC_RUN" ] && rm -rf "$SC_RUN"
	SC_LAUNCHER='' SC_NSPAWN='' SC_LEADER='' SC_RUN='' SC_NAME=
	SC_CGROUPS=()
}

# sc_on_exit: the start of a container test's EXIT trap. e2e_cleanup exits
# with the status $? has when it starts, so this returns the test's own
# (after sc_shutdown, whose status would otherwise turn a failure into 0).
sc_on_exit() {
	local rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && sc_debug
	sc_shutdown
	return "$rc"
}
