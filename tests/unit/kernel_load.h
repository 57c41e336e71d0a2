/*
 * kernel_load.h - how the kernel reads a TABLE_LOAD payload, for the tests.
 *
 * A model of populate_table() and next_target() in drivers/md/dm-ioctl.c
 * (6.x, the strictest version): the first spec sits at data_start; each
 * later one sits `next` bytes after the one before, 8-aligned, past the
 * previous spec's parameters, with room for a whole spec and a NUL before the
 * end of the buffer.  dm_encode_targets() must produce what this accepts.
 *
 * The payload is what follows the 312-byte header; offsets below count from
 * the header, as the kernel's do.
 */
#ifndef KERNEL_LOAD_H
#define KERNEL_LOAD_H

#include <string.h>
#include "../../dm_ioctl.h"

/* Reads n targets into out; 0, or -1 wherever the kernel would say EINVAL. */
static int kernel_read_load(const char *payload, size_t len, size_t n, struct dm_target *out)
{
	const size_t hdr = sizeof(struct dm_ioctl);
	const size_t end = hdr + len;
	size_t last = 0;          /* the header plays the spec "before" the first */
	size_t min_size = hdr;    /* the next spec must not overlap what came before */
	uint64_t next = hdr;      /* data_start */
	struct dm_target_spec spec;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (next < min_size || end - last - sizeof spec <= next || next % 8)
			return -1;
		size_t at = last + next;
		const char *params = payload + (at - hdr) + sizeof spec;
		const char *nul = memchr(params, '\0', end - (at + sizeof spec));
		if (!nul)
			return -1;
		memcpy(&spec, payload + (at - hdr), sizeof spec);
		if (!memchr(spec.target_type, '\0', sizeof spec.target_type))
			return -1;
		out[i].start = spec.sector_start;
		out[i].length = spec.length;
		memcpy(out[i].type, spec.target_type, sizeof out[i].type);
		out[i].params = params;
		min_size = (size_t)(nul - (payload + (at - hdr))) + 1;
		last = at;
		next = spec.next;
	}
	return 0;
}

#endif
