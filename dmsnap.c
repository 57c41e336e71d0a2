/*
 * dmsnap - consistent block-level snapshots of live filesystems with
 * device-mapper, without LVM.  This file: main, the command table with
 * every command's synopsis, and dispatch.  It calls into every other part;
 * nothing calls back into it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backup.h"
#include "cli.h"
#include "dmsetup.h"
#include "faults.h"
#include "grow.h"
#include "merge.h"
#include "show.h"
#include "snap.h"
#include "wrap.h"

/*
 * The usage text: every form, beside the code it describes, in the order
 * of handlers[]; each synopsis's first word is its command's name.
 */
static const char synopses[] =
	"wrap [--if-missing] DEV [NAME]\0"
	"snap [-v] [-n] [-c CHUNK] [-s SNAPNAME] [--force | --reattach] [--no-sync] NAME COW | NAME:COW...\0"
	"show [-p] [NAME]\0"
	"drop NAME [SNAPNAME]\0"
	"grow NAME [SNAPNAME] DEV...\0"
	"unwrap NAME\0"
	"run [snap options] [--mount DIR] NAME COW | NAME:COW... -- CMD [ARG...]\0"
	"watch [--warn PCT] [--interval SEC] [--once] [--grow-with DEV[,DEV...] [--grow-at PCT]] NAME\0"
	"merge [--wait] NAME [SNAPNAME | COW]\0"
	"recover [NAME]\0"
	"create [-r] [-u UUID] [--notable | --table LINE] NAME [FILE]\0"
	"load [-r] [--table LINE] NAME [FILE]\0"
	"reload [-r] [--table LINE] NAME [FILE]\0"
	"suspend [--nolockfs] [--noflush] NAME\0"
	"resume NAME\0"
	"remove [--retry] [--deferred] NAME\0"
	"clear NAME\0"
	"table [--inactive] [NAME]\0"
	"status [--inactive] [NAME]\0"
	"info [NAME]\0"
	"ls\0"
	"deps [NAME]\0"
	"targets\0"
	"version\0"
	"mknodes [NAME]";
static int (*const handlers[])(int argc, char **argv) = {
	cmd_wrap, cmd_snap, cmd_show, cmd_drop, cmd_grow, cmd_unwrap, cmd_run, cmd_watch, cmd_merge, cmd_recover,
	cmd_create, cmd_load, cmd_load, cmd_suspend, cmd_resume, cmd_remove, cmd_clear, cmd_table, cmd_status,
	cmd_info, cmd_ls, cmd_deps, cmd_targets, cmd_version, cmd_mknodes,
};
#define NCOMMANDS (sizeof handlers / sizeof *handlers)

static void usage(FILE *f)
{
	const char *s = synopses;

	fprintf(f, "usage: dmsnap [-q] [-v] COMMAND [ARGS]\n"
		   "       dmsnap --help | --version | COMMAND --help\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++, s += strlen(s) + 1)
		fprintf(f, "  %s\n", s);
}

/* The index of the command called name, or NCOMMANDS; synopsis set to its synopsis. */
static size_t find_command(const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0, synopsis = synopses; i < NCOMMANDS; i++, synopsis += strlen(synopsis) + 1)
		if (strcspn(synopsis, " ") == n && !strncmp(synopsis, name, n))
			break;
	return i;
}

static int dispatch(int argc, char **argv)
{
	size_t cmd;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-q"))
			quiet = 1;
		else if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--version")) {
			printf("dmsnap %s\n", dmsnap_version);
			return EXIT_OK;
		} else {
			warn(0, "unknown option %s", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		fflush(stdout);
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((cmd = find_command(argv[i])) == NCOMMANDS)
		return bad_usage("unknown command '%s'; 'dmsnap --help' lists them", argv[i]);
	return handlers[cmd](argc - i, argv + i);
}

int main(int argc, char **argv)
{
	int r;

#ifdef DMSNAP_FAULTS
	faults_install();
#endif
	/* Invoked through a link named dmsetup: dmsetup's command line, output and messages (dmsetup.h). */
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	if (argc > 0 && !strcmp(base ? base + 1 : argv[0], "dmsetup"))
		r = dmsetup_main(argc, argv);
	else
		r = dispatch(argc, argv);
	/* What could not be written was not said: a full disk or a closed pipe is a failure. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "dmsnap: writing standard output: %s\n", strerror(errno));
		if (r == EXIT_OK)
			r = EXIT_FAIL;
	}
	return r;
}
