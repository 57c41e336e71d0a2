/*
 * fuzz_opts.c - get_opt over any argv (the input's NUL-separated words): the
 * loop ends, only listed keys come back, a value points into the words, and
 * the operands are words of argv in their order.
 */
#include <fcntl.h>
#include <unistd.h>

#include "../../util.h"
#include "fuzz.h"

#define MAX_WORDS 32

static const struct opt list[] = {
	{ NULL, 'c', OPT_SHORT | OPT_ARG }, { "transient", 'n', OPT_SHORT }, { NULL, 'v', OPT_SHORT },
	{ "force", 'f', 0 }, { "mount", 'm', OPT_ARG }, { "inactive", 'i', 0 },
	{ "interval", 'I', OPT_ARG }, { "help", 'h', OPT_SHORT }, { 0 } };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int null = -1;
	char *text = fuzz_text(data, size), *argv[MAX_WORDS + 1], *orig[MAX_WORDS + 1];
	int argc = 1, c, calls = 0, saved;
	struct opts o;

	argv[0] = "snap";
	for (char *w = text; argc <= MAX_WORDS && w <= text + size; w += strlen(w) + 1)
		argv[argc++] = w;
	memcpy(orig, argv, sizeof argv);
	if (null < 0 && (null = open("/dev/null", O_WRONLY)) < 0)
		abort();
	saved = dup(2);
	dup2(null, 2);  /* get_opt's error lines */
	opts_start(&o, list, argv);
	while ((c = get_opt(&o, argc, argv)) != -1 && c != '?') {
		REQUIRE(++calls <= (int)size + argc);  /* each call takes a byte or a word */
		REQUIRE(strchr("cnvfmiIh", c) != NULL);
		REQUIRE(!o.arg || (o.arg >= text && o.arg <= text + size));
	}
	dup2(saved, 2);
	close(saved);
	if (c == -1) {
		int k = 1;
		REQUIRE(o.nargs >= 0 && o.nargs < argc);
		for (int i = 0; i < o.nargs; i++) {
			while (k < argc && orig[k] != o.args[i])
				k++;
			REQUIRE(k < argc);
			k++;
		}
	}
	free(text);
	return 0;
}
