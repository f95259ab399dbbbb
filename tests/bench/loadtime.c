// SPDX-License-Identifier: GPL-2.0
/*
 * loadtime: how long loading the lkm-stack pair takes, run in a QEMU guest
 * by "make bench".
 *
 *   loadtime modprobe RUNS
 *	RUNS times: time "modprobe client_lkm" (which loads core_lkm first),
 *	then unload both with "modprobe -r client_lkm" (not timed).
 *   loadtime finit RUNS CORE.ko CLIENT.ko
 *	RUNS times: time finit_module() of core, then of client (uncompressed
 *	.ko files), then delete both (not timed).
 *
 * Prints one "loadtime <mode> <nanoseconds>" line a run; exits non-zero
 * at the first failed load or unload.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int run(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int load_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

static int unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK);
}

static int failed(const char *what)
{
	perror(what);
	return 1;
}

static int time_modprobe(int runs)
{
	char *load[] = { "modprobe", "client_lkm", NULL };
	char *remove[] = { "modprobe", "-r", "client_lkm", NULL };
	long long start;
	int i;

	for (i = 0; i < runs; i++) {
		start = now_ns();
		if (run(load))
			return failed("modprobe client_lkm");
		printf("loadtime modprobe %lld\n", now_ns() - start);
		if (run(remove))
			return failed("modprobe -r client_lkm");
	}
	return 0;
}

static int time_finit(int runs, const char *core, const char *client)
{
	long long start;
	int i;

	for (i = 0; i < runs; i++) {
		start = now_ns();
		if (load_file(core) || load_file(client))
			return failed("finit_module");
		printf("loadtime finit %lld\n", now_ns() - start);
		if (unload("client_lkm") || unload("core_lkm"))
			return failed("delete_module");
	}
	return 0;
}

int main(int argc, char **argv)
{
	int runs = argc > 2 ? atoi(argv[2]) : 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "modprobe") && runs > 0)
		return time_modprobe(runs);
	if (argc == 5 && !strcmp(argv[1], "finit") && runs > 0)
		return time_finit(runs, argv[3], argv[4]);
	fprintf(stderr,
		"usage: loadtime modprobe RUNS | loadtime finit RUNS CORE.ko CLIENT.ko\n");
	return 2;
}
