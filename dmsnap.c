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

struct command {
	int (*run)(int argc, char **argv);
	const char *synopsis;  /* its first word is the command's name */
};

/* The usage text: every form, beside the code it describes. */
static const struct command commands[] = {
	{ cmd_wrap, "wrap [--if-missing] DEV [NAME]" },
	{ cmd_snap, "snap [-v] [-n] [-c CHUNK] [-s SNAPNAME] [--force | --reattach] [--no-sync] NAME COW | NAME:COW..." },
	{ cmd_show, "show [-p] [NAME]" },
	{ cmd_drop, "drop NAME [SNAPNAME]" },
	{ cmd_grow, "grow NAME [SNAPNAME] DEV..." },
	{ cmd_unwrap, "unwrap NAME" },
	{ cmd_run, "run [snap options] [--mount DIR] NAME COW | NAME:COW... -- CMD [ARG...]" },
	{ cmd_watch, "watch [--warn PCT] [--interval SEC] [--once] [--grow-with DEV[,DEV...] [--grow-at PCT]] NAME" },
	{ cmd_merge, "merge [--wait] NAME [SNAPNAME | COW]" },
	{ cmd_recover, "recover [NAME]" },
	{ cmd_create, "create [-r] [-u UUID] [--notable | --table LINE] NAME [FILE]" },
	{ cmd_load, "load [-r] [--table LINE] NAME [FILE]" },
	{ cmd_load, "reload [-r] [--table LINE] NAME [FILE]" },
	{ cmd_suspend, "suspend [--nolockfs] [--noflush] NAME" },
	{ cmd_resume, "resume NAME" },
	{ cmd_remove, "remove [--retry] [--deferred] NAME" },
	{ cmd_clear, "clear NAME" },
	{ cmd_table, "table [--inactive] [NAME]" },
	{ cmd_status, "status [--inactive] [NAME]" },
	{ cmd_info, "info [NAME]" },
	{ cmd_ls, "ls" },
	{ cmd_deps, "deps [NAME]" },
	{ cmd_targets, "targets" },
	{ cmd_version, "version" },
	{ cmd_mknodes, "mknodes [NAME]" },
};
#define NCOMMANDS (sizeof commands / sizeof *commands)

static void usage(FILE *f)
{
	fprintf(f, "usage: dmsnap [-q] [-v] COMMAND [ARGS]\n"
		   "       dmsnap --help | --version | COMMAND --help\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].synopsis);
}

static const struct command *find_command(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcspn(commands[i].synopsis, " ") == n && !strncmp(commands[i].synopsis, name, n))
			return &commands[i];
	return NULL;
}

static int dispatch(int argc, char **argv)
{
	const struct command *cmd;
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
			errf("dmsnap: unknown option %s\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		fflush(stdout);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!(cmd = find_command(argv[i]))) {
		errf("dmsnap: unknown command '%s'; 'dmsnap --help' lists them\n", argv[i]);
		return EXIT_USAGE;
	}
	synopsis = cmd->synopsis;
	return cmd->run(argc - i, argv + i);
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
