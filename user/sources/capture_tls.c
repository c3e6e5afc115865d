// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * capture_tls.c - the TLS plaintext programs (bpf/tls.bpf.c): loaded on the
 * packet programs' ring buffer and watched ports, so plaintext and packets
 * keep one order; uprobes on every OpenSSL found: the system's libssl
 * (libssl.so.3, libssl.so.1.1 in the usual library folders), the libssl
 * each running process maps (through /proc/PID/root, so other mount
 * namespaces too), node (it links OpenSSL statically and exports its
 * SSL_* symbols) and the files --ssl-lib names. A uprobe on a file
 * applies to every process that maps it, started before or after.
 *
 * Attached as uprobe_multi links (bpf() alone, Linux 6.6+) where the kernel
 * has them: a uprobe perf event needs CAP_SYS_ADMIN again since the kernel
 * took it back from CAP_PERFMON, a uprobe_multi link only the CAP_PERFMON
 * its program's load needs, and no perf_event_open(). Older kernels get
 * the perf events.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/log.h"
#include "capture_internal.h"
#include "tls.skel.h"

#define TLS_MAX_FILES 64
#define TLS_MAX_PROCS 4096 /* /proc entries looked at for mapped libraries */

/* Linux 6.6 UAPI, newer than the headers libbpf 1.1 builds with. */
#define TLS_TRACE_UPROBE_MULTI 48 /* enum bpf_attach_type */
#define TLS_UPROBE_MULTI_RETURN 1u
/* union bpf_attr's link_create with its uprobe_multi member; the kernel
 * wants the bytes past pid zero, so the padding is a named member. */
struct tls_link_create {
	uint32_t prog_fd, target_fd, attach_type, flags;
	uint64_t path, offsets, ref_ctr_offsets, cookies;
	uint32_t cnt, multi_flags, pid, zero;
};
_Static_assert(offsetof(struct tls_link_create, path) == 16 &&
		       offsetof(struct tls_link_create, pid) == 56,
	       "the layout of bpf_attr.link_create.uprobe_multi");

/* The functions probed: the program on entry, and on return (or NULL). */
enum { F_READ, F_WRITE, F_READ_EX, F_WRITE_EX, F_HANDSHAKE, F_SET_FD, F_FREE, F_MAX };
static const char *const fn_names[F_MAX] = {
	"SSL_read", "SSL_write", "SSL_read_ex", "SSL_write_ex", "SSL_do_handshake",
	"SSL_set_fd", "SSL_free",
};

struct tls_file {
	dev_t dev;
	ino_t ino;
};

struct capture_tls {
	struct tls_bpf *skel;
	struct bpf_link *sys_enter; /* attached at the first SSL call */
	struct bpf_link **links; /* uprobe perf events */
	int n_links, cap_links;
	int *fds; /* or uprobe_multi links */
	int n_fds, cap_fds;
	bool multi;
	struct tls_file files[TLS_MAX_FILES];
	int n_files;
};

/* File offsets of fn_names in path's dynamic symbols (0: absent). */
static int elf_offsets(const char *path, size_t off[F_MAX])
{
	Elf *elf = NULL;
	Elf_Scn *scn = NULL;
	size_t nph, i;
	int fd, found = 0;

	memset(off, 0, F_MAX * sizeof(off[0]));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_getphdrnum(elf, &nph))
		goto out;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    sym.st_shndx == SHN_UNDEF || !sym.st_value)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!name || strncmp(name, "SSL_", 4))
				continue;
			for (int f = 0; f < F_MAX; f++) {
				if (off[f] || strcmp(name, fn_names[f]))
					continue;
				/* virtual address -> offset in the file, by its segment */
				for (size_t p = 0; p < nph; p++) {
					GElf_Phdr ph;

					if (!gelf_getphdr(elf, p, &ph) || ph.p_type != PT_LOAD ||
					    !(ph.p_flags & PF_X))
						continue;
					if (sym.st_value >= ph.p_vaddr &&
					    sym.st_value < ph.p_vaddr + ph.p_memsz) {
						off[f] = sym.st_value - ph.p_vaddr + ph.p_offset;
						found++;
					}
				}
			}
		}
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return found;
}

static int tls_link_add(struct capture_tls *t, struct bpf_link *l)
{
	if (t->n_links == t->cap_links) {
		int n = t->cap_links ? 2 * t->cap_links : 32;
		struct bpf_link **p = realloc(t->links, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		t->links = p;
		t->cap_links = n;
	}
	t->links[t->n_links++] = l;
	return 0;
}

static int tls_fd_add(struct capture_tls *t, int fd)
{
	if (t->n_fds == t->cap_fds) {
		int n = t->cap_fds ? 2 * t->cap_fds : 32;
		int *p = realloc(t->fds, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		t->fds = p;
		t->cap_fds = n;
	}
	t->fds[t->n_fds++] = fd;
	return 0;
}

/* A uprobe_multi link of prog_fd on path at off (every process): fd or -errno. */
static int uprobe_multi_link(int prog_fd, const char *path, size_t off, bool ret)
{
	uint64_t o = off;
	struct tls_link_create a = {
		.prog_fd = prog_fd,
		.attach_type = TLS_TRACE_UPROBE_MULTI,
		.path = (uintptr_t)path,
		.offsets = (uintptr_t)&o,
		.cnt = 1,
		.multi_flags = ret ? TLS_UPROBE_MULTI_RETURN : 0,
	};
	int fd = syscall(SYS_bpf, BPF_LINK_CREATE, &a, sizeof(a));

	return fd < 0 ? -errno : fd;
}

/*
 * Whether the kernel has uprobe_multi links: a program of that attach type
 * linked to "/" is refused as not a regular file (EBADF) where it has them,
 * as an unknown attach type (EINVAL) where not.
 */
static bool uprobe_multi_supported(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = TLS_TRACE_UPROBE_MULTI);
	int prog, fd;

	prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "wst_probe", "GPL", insns, 2, &o);
	if (prog < 0)
		return false;
	fd = uprobe_multi_link(prog, "/", 1, false);
	close(prog);
	if (fd >= 0) {
		close(fd);
		return true;
	}
	return fd == -EBADF;
}

static int tls_uprobe(struct capture_tls *t, struct bpf_program *prog, const char *path,
		      size_t off, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = ret);
	struct bpf_link *l;
	int err;

	if (!off)
		return 0;
	if (t->multi) {
		int fd = uprobe_multi_link(bpf_program__fd(prog), path, off, ret);

		if (fd < 0)
			return fd;
		err = tls_fd_add(t, fd);
		if (err)
			close(fd);
		return err;
	}
	l = bpf_program__attach_uprobe_opts(prog, -1, path, off, &o);
	if (!l)
		return -errno;
	err = tls_link_add(t, l);
	if (err)
		bpf_link__destroy(l);
	return err;
}

/*
 * Probes path if it has SSL_read and SSL_write and is not probed yet.
 * 1 if attached, 0 if not an OpenSSL or already done, -errno.
 */
static int tls_attach_file(struct capture_tls *t, const char *path, bool named)
{
	struct tls_bpf *s = t->skel;
	size_t off[F_MAX];
	struct stat st;
	int err = 0;

	if (stat(path, &st) || !S_ISREG(st.st_mode)) {
		if (named)
			pr_warn("--ssl-lib %s: %s", path, strerror(errno ? errno : EINVAL));
		return 0;
	}
	for (int i = 0; i < t->n_files; i++)
		if (t->files[i].dev == st.st_dev && t->files[i].ino == st.st_ino)
			return 0;
	if (t->n_files == TLS_MAX_FILES)
		return 0;
	if (elf_offsets(path, off) <= 0 || !off[F_READ] || !off[F_WRITE]) {
		if (named)
			pr_warn("--ssl-lib %s: no SSL_read and SSL_write in its dynamic symbols", path);
		return 0;
	}
	const struct {
		struct bpf_program *prog;
		int fn;
		bool ret;
	} probes[] = {
		{ s->progs.ssl_read_enter, F_READ, false },
		{ s->progs.ssl_write_enter, F_WRITE, false },
		{ s->progs.ssl_read_ex_enter, F_READ_EX, false },
		{ s->progs.ssl_write_ex_enter, F_WRITE_EX, false },
		/* one return program for the four data calls */
		{ s->progs.ssl_rw_exit, F_READ, true },
		{ s->progs.ssl_rw_exit, F_WRITE, true },
		{ s->progs.ssl_rw_exit, F_READ_EX, true },
		{ s->progs.ssl_rw_exit, F_WRITE_EX, true },
		{ s->progs.ssl_handshake_enter, F_HANDSHAKE, false },
		{ s->progs.ssl_handshake_exit, F_HANDSHAKE, true },
		{ s->progs.ssl_set_fd, F_SET_FD, false },
		{ s->progs.ssl_free, F_FREE, false },
	};

	for (size_t i = 0; !err && i < sizeof(probes) / sizeof(probes[0]); i++)
		err = tls_uprobe(t, probes[i].prog, path, off[probes[i].fn], probes[i].ret);
	if (err) {
		pr_warn("cannot attach uprobes to %s: %s", path, strerror(-err));
		return err;
	}
	t->files[t->n_files++] = (struct tls_file){ st.st_dev, st.st_ino };
	pr_info("TLS plaintext: probing %s", path);
	return 1;
}

static const char *const lib_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
	"/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
	"/usr/local/lib", "/usr/local/lib64",
};
static const char *const lib_names[] = { "libssl.so.3", "libssl.so.1.1" };
/* Programs known to carry their own OpenSSL with exported symbols. */
static const char *const programs[] = { "/usr/bin/node", "/usr/local/bin/node", "/usr/bin/nodejs" };

/* libssl mapped by running processes (/proc/PID/maps), through their root. */
static void tls_scan_procs(struct capture_tls *t)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!d)
		return;
	while ((de = readdir(d)) && n < TLS_MAX_PROCS) {
		char path[4352], line[4096];
		FILE *f;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		n++;
		snprintf(path, sizeof(path), "/proc/%s/maps", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char *file = strchr(line, '/');
			char *nl;

			if (!file || !strstr(file, "/libssl.so"))
				continue;
			nl = strchr(file, '\n');
			if (nl)
				*nl = '\0';
			snprintf(path, sizeof(path), "/proc/%s/root%s", de->d_name, file);
			tls_attach_file(t, path, false);
		}
		fclose(f);
	}
	closedir(d);
}

static int tls_attach_all(struct capture_tls *t, const struct capture_opts *opts)
{
	char path[512];
	int err;

	for (int i = 0; i < opts->n_ssl_libs; i++)
		if ((err = tls_attach_file(t, opts->ssl_libs[i], true)) < 0)
			return err;
	for (size_t d = 0; d < sizeof(lib_dirs) / sizeof(lib_dirs[0]); d++)
		for (size_t n = 0; n < sizeof(lib_names) / sizeof(lib_names[0]); n++) {
			snprintf(path, sizeof(path), "%s/%s", lib_dirs[d], lib_names[n]);
			if ((err = tls_attach_file(t, path, false)) < 0)
				return err;
		}
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
		if ((err = tls_attach_file(t, programs[i], false)) < 0)
			return err;
	tls_scan_procs(t);
	return 0;
}

int capture_tls_open(struct capture *c, const struct capture_opts *opts)
{
	struct capture_tls *t = calloc(1, sizeof(*t));
	struct stat st;
	int err;

	if (!t)
		return -ENOMEM;
	c->tls = t;
	t->skel = tls_bpf__open();
	if (!t->skel) {
		err = -errno;
		pr_warn("failed to open the TLS BPF object: %s", strerror(-err));
		return err;
	}
	t->skel->rodata->wakeup_bytes = opts->wakeup_bytes;
	/* only sockets of the namespace whose interfaces are captured */
	if (!stat("/proc/self/ns/net", &st))
		t->skel->rodata->netns_ino = st.st_ino;
	t->multi = uprobe_multi_supported();
	if (t->multi) {
		struct bpf_program *p;

		bpf_object__for_each_program(p, t->skel->obj)
			if (bpf_program__type(p) == BPF_PROG_TYPE_KPROBE)
				bpf_program__set_expected_attach_type(p, TLS_TRACE_UPROBE_MULTI);
	}
	pr_debug("TLS plaintext: uprobes as %s", t->multi ? "uprobe_multi links" : "perf events");
	/* The packet programs' ring buffer and ports: one order, one port set. */
	err = bpf_map__reuse_fd(t->skel->maps.events, c->progs.events);
	if (!err)
		err = bpf_map__reuse_fd(t->skel->maps.ports, c->progs.ports);
	if (err) {
		pr_warn("failed to share the ring buffer with the TLS programs: %s", strerror(-err));
		return err;
	}
	err = tls_bpf__load(t->skel);
	if (err) {
		pr_warn("failed to load the TLS BPF programs: %s (--no-tls runs without them)",
			strerror(-err));
		return err;
	}
	err = tls_attach_all(t, opts);
	if (err)
		return err;
	if (!t->n_files)
		pr_info("TLS plaintext: no OpenSSL library found");
	return 0;
}

/*
 * The socket syscalls name the socket of an SSL call, but their hook runs
 * on every syscall of the host: it comes only with the first SSL call
 * (tls.bpf.c says what happens until then).
 */
void capture_tls_poll(struct capture *c)
{
	struct capture_tls *t = c->tls;

	if (!t || t->sys_enter || t->skel->bss->sys_hook_failed || !t->n_files ||
	    !__atomic_load_n(&t->skel->bss->ssl_seen, __ATOMIC_RELAXED))
		return;
	t->sys_enter = bpf_program__attach(t->skel->progs.tls_sys_enter);
	if (!t->sys_enter) {
		capture_set_word(&t->skel->bss->sys_hook_failed, 1);
		pr_warn("failed to attach the TLS syscall hook: %s; only sockets given to "
			"SSL_set_fd are joined", strerror(errno));
		return;
	}
	capture_set_word(&t->skel->bss->sys_hook_on, 1);
	pr_info("TLS plaintext: an SSL call was made; the socket syscall hook is attached");
}

void capture_tls_close(struct capture *c)
{
	struct capture_tls *t = c->tls;

	if (!t)
		return;
	bpf_link__destroy(t->sys_enter);
	for (int i = 0; i < t->n_links; i++)
		bpf_link__destroy(t->links[i]);
	free(t->links);
	for (int i = 0; i < t->n_fds; i++)
		close(t->fds[i]);
	free(t->fds);
	tls_bpf__destroy(t->skel);
	free(t);
	c->tls = NULL;
}

int capture_tls_files(const struct capture *c)
{
	return c && c->tls ? c->tls->n_files : 0;
}

int capture_read_tls_counters(const struct capture *c, uint64_t out[WST_TLS_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	uint64_t *v;

	memset(out, 0, WST_TLS_CNT_MAX * sizeof(out[0]));
	if (!c || !c->tls || !c->tls->skel)
		return -ENOENT;
	if (ncpu < 0)
		return ncpu;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t k = 0; k < WST_TLS_CNT_MAX; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(c->tls->skel->maps.tls_counters), &k, v)) {
			err = -errno;
			break;
		}
		for (int i = 0; i < ncpu; i++)
			out[k] += v[i];
	}
	free(v);
	return err;
}
