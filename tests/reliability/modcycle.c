// SPDX-License-Identifier: GPL-2.0
/*
 * modcycle: load and unload the lkm-stack pair with finit_module() and
 * delete_module() directly, for the stress tests of tests/reliability/stage.sh
 * in a QEMU guest, where spawning modprobe for each step would cost far
 * more than the system calls themselves.
 *
 *   modcycle cycle N CORE.ko CLIENT.ko
 *	N times: load core, load client, unload client, unload core.  Every
 *	call must succeed.
 *
 *   modcycle race SECONDS CORE.ko CLIENT.ko
 *	For SECONDS, one process loads and unloads core_lkm, another
 *	client_lkm, and two more read the modules' /sys/module entries.
 *	Every refused call must fail with an errno the kernel documents for
 *	that case; what the readers see must be a possible state.  Then the
 *	state left behind must be consistent (refcount and holders), and
 *	both modules are unloaded.
 *
 * Prints "modcycle: ..." lines for the host to parse; a broken rule is a
 * line starting "modcycle: UNEXPECTED".  Exits 0 when every rule held.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CORE "core_lkm"
#define CLIENT "client_lkm"
#define MAX_ERRNO 4096
#define READERS 2

/* How often each result (0 or an errno) of one kind of call was seen. */
struct tally {
	const char *what;
	unsigned long count[MAX_ERRNO];
};

/* Broken rules: the first few are shown, the rest only counted. */
#define SHOWN_UNEXPECTED 10
static unsigned long unexpected;

static void report_unexpected(const char *what, const char *detail)
{
	if (++unexpected <= SHOWN_UNEXPECTED)
		printf("modcycle: UNEXPECTED %s: %s\n", what, detail);
}

static int exit_status(void)
{
	if (unexpected > SHOWN_UNEXPECTED)
		printf("modcycle: UNEXPECTED and %lu more\n",
		       unexpected - SHOWN_UNEXPECTED);
	return unexpected ? 1 : 0;
}

/*
 * count_result - record that a call of kind @t returned @err (0 or an
 * errno); @allowed lists the errnos the kernel documents for the race,
 * terminated by 0.
 */
static void count_result(struct tally *t, int err, const int *allowed)
{
	bool ok = err == 0;

	for (; !ok && *allowed; allowed++)
		ok = err == *allowed;
	if (err >= 0 && err < MAX_ERRNO)
		t->count[err]++;
	if (!ok)
		report_unexpected(t->what, strerror(err));
}

static void print_tally(const struct tally *t)
{
	int err;

	for (err = 0; err < MAX_ERRNO; err++) {
		if (!t->count[err])
			continue;
		printf("modcycle: %s %s=%lu\n", t->what,
		       err ? strerrorname_np(err) : "ok", t->count[err]);
	}
}

static int load(int fd)
{
	return syscall(SYS_finit_module, fd, "", 0) ? errno : 0;
}

/* Never wait for the refcount to drop: refuse, as rmmod does. */
static int unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? errno : 0;
}

static int open_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		perror(path);
		exit(2);
	}
	return fd;
}

static int run_cycles(unsigned long n, int core, int client)
{
	static const int none[] = { 0 };
	struct tally loads = { .what = "cycle load" };
	struct tally unloads = { .what = "cycle unload" };
	struct timespec start, end;
	unsigned long i;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; i < n; i++) {
		count_result(&loads, load(core), none);
		count_result(&loads, load(client), none);
		count_result(&unloads, unload(CLIENT), none);
		count_result(&unloads, unload(CORE), none);
		if (unexpected) {
			printf("modcycle: stopped in cycle %lu\n", i + 1);
			break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	ms = (end.tv_sec - start.tv_sec) * 1000 +
	     (end.tv_nsec - start.tv_nsec) / 1000000;
	print_tally(&loads);
	print_tally(&unloads);
	printf("modcycle: cycles=%lu ms=%ld\n", i, ms);
	return exit_status();
}

/*
 * The refusals each racing call may meet, from finit_module(2),
 * delete_module(2) and kernel/module/main.c:
 * EEXIST	the module is already loaded
 * EBUSY	load: a module of that name is being unloaded;
 *		unload: it is still initialising or already going
 * ENOENT	load: a symbol it needs is gone (its owner is unloaded or
 *		going: "Unknown symbol"); unload: not loaded
 * EWOULDBLOCK	unload: another module depends on it (client on core)
 */
static const int core_load_refusals[] = { EEXIST, EBUSY, 0 };
static const int core_unload_refusals[] = { ENOENT, EBUSY, EWOULDBLOCK, 0 };
static const int client_load_refusals[] = { EEXIST, EBUSY, ENOENT, 0 };
static const int client_unload_refusals[] = { ENOENT, EBUSY, 0 };

static void churn(time_t deadline, int fd, const char *name,
		  const int *load_refusals, const int *unload_refusals)
{
	char load_what[64], unload_what[64];
	struct tally loads = { .what = load_what };
	struct tally unloads = { .what = unload_what };

	snprintf(load_what, sizeof(load_what), "race load %s", name);
	snprintf(unload_what, sizeof(unload_what), "race unload %s", name);
	while (time(NULL) < deadline) {
		count_result(&loads, load(fd), load_refusals);
		count_result(&unloads, unload(name), unload_refusals);
	}
	print_tally(&loads);
	print_tally(&unloads);
}

/*
 * read_entry - read /sys/module/@name/@entry into @buf, without the
 * trailing newline.  Returns 0 or the errno of a module that went away
 * meanwhile (ENOENT before open, ENODEV after); anything else is
 * reported.
 */
static int read_entry(const char *name, const char *entry, char *buf,
		      size_t size)
{
	char path[128];
	ssize_t len;
	int fd, err = 0;

	snprintf(path, sizeof(path), "/sys/module/%s/%s", name, entry);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	len = read(fd, buf, size - 1);
	if (len < 0)
		err = errno;
	close(fd);
	if (err == ENOENT || err == ENODEV)
		return err;
	if (err) {
		report_unexpected(path, strerror(err));
		return err;
	}
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* check_entry - @entry of module @name, if readable, is one of @values. */
static void check_entry(struct tally *t, const char *name, const char *entry,
			const char *const *values)
{
	static const int gone[] = { ENOENT, ENODEV, 0 };
	char buf[64], detail[160];
	const char *const *v;
	int err = read_entry(name, entry, buf, sizeof(buf));

	count_result(t, err, gone);
	if (err)
		return;
	for (v = values; *v; v++)
		if (!strcmp(buf, *v))
			return;
	snprintf(detail, sizeof(detail), "/sys/module/%s/%s is \"%s\"",
		 name, entry, buf);
	report_unexpected("sysfs value", detail);
}

static void read_sysfs(time_t deadline)
{
	static const char *const states[] = {
		"live", "coming", "going", NULL
	};
	/*
	 * A module holds a reference on itself while it initialises, and
	 * reads -1 once its unloading has begun.  core_lkm has one more
	 * while client_lkm is loaded, and a client may take it between
	 * core_lkm going live and dropping its own.
	 */
	static const char *const refs[] = { "-1", "0", "1", NULL };
	static const char *const core_refs[] = { "-1", "0", "1", "2", NULL };
	static const char *const no[] = { "N", NULL };
	struct tally reads = { .what = "race sysfs read" };
	char magic[64];

	while (time(NULL) < deadline) {
		check_entry(&reads, CORE, "initstate", states);
		check_entry(&reads, CORE, "refcnt", core_refs);
		check_entry(&reads, CORE, "parameters/fail_init", no);
		check_entry(&reads, CLIENT, "initstate", states);
		check_entry(&reads, CLIENT, "refcnt", refs);
		read_entry(CLIENT, "parameters/magic", magic, sizeof(magic));
	}
	print_tally(&reads);
}

static bool loaded(const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

static bool holds(const char *holder, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s/holders/%s", name, holder);
	return access(path, F_OK) == 0;
}

/* The state the race left: client on a live core holding one reference. */
static void check_end_state(void)
{
	static const char *const live[] = { "live", NULL };
	static const char *const one[] = { "1", NULL };
	static const char *const zero[] = { "0", NULL };
	struct tally reads = { .what = "end state read" };
	bool core = loaded(CORE), client = loaded(CLIENT);

	printf("modcycle: end state core_lkm=%s client_lkm=%s\n",
	       core ? "loaded" : "absent", client ? "loaded" : "absent");
	if (client && !core)
		report_unexpected("end state", "client_lkm without core_lkm");
	if (core) {
		check_entry(&reads, CORE, "initstate", live);
		check_entry(&reads, CORE, "refcnt", client ? one : zero);
		if (holds(CLIENT, CORE) != client)
			report_unexpected("end state", "core_lkm holders wrong");
	}
	if (client) {
		check_entry(&reads, CLIENT, "initstate", live);
		check_entry(&reads, CLIENT, "refcnt", zero);
	}
	if (reads.count[ENOENT] || reads.count[ENODEV])
		report_unexpected("end state", "a module vanished");
}

static void unload_all(void)
{
	static const int absent[] = { ENOENT, 0 };
	struct tally unloads = { .what = "final unload" };

	count_result(&unloads, unload(CLIENT), absent);
	count_result(&unloads, unload(CORE), absent);
	if (loaded(CORE) || loaded(CLIENT))
		report_unexpected("final unload", "a module is still loaded");
}

/* Run @role in a child process; its exit status says if rules held. */
static pid_t spawn(time_t deadline, int role, int core, int client)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid)
		return pid;
	if (role == 0)
		churn(deadline, core, CORE, core_load_refusals,
		      core_unload_refusals);
	else if (role == 1)
		churn(deadline, client, CLIENT, client_load_refusals,
		      client_unload_refusals);
	else
		read_sysfs(deadline);
	_exit(exit_status());
}

static int run_race(unsigned long seconds, int core, int client)
{
	time_t deadline = time(NULL) + seconds;
	pid_t pids[2 + READERS];
	int i, status, failed = 0;

	for (i = 0; i < 2 + READERS; i++)
		pids[i] = spawn(deadline, i, core, client);
	for (i = 0; i < 2 + READERS; i++) {
		if (waitpid(pids[i], &status, 0) < 0 ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			failed = 1;
	}
	check_end_state();
	unload_all();
	return exit_status() || failed;
}

static void print_usage(void)
{
	fprintf(stderr, "usage: modcycle cycle N CORE.ko CLIENT.ko\n"
			"       modcycle race SECONDS CORE.ko CLIENT.ko\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long n;
	char *end;
	int core, client;

	if (argc != 5)
		print_usage();
	n = strtoul(argv[2], &end, 10);
	if (*end || !n)
		print_usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	core = open_module(argv[3]);
	client = open_module(argv[4]);
	if (!strcmp(argv[1], "cycle"))
		return run_cycles(n, core, client);
	if (!strcmp(argv[1], "race"))
		return run_race(n, core, client);
	print_usage();
	return 2;
}
