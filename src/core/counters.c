/*
 * counters.c — names of the SNMP/netstat counters, as nstat prints them (SYNQ_COUNTERS in synq.h).
 *
 * The values live in the stack (synq_counter() and synq_counter_by_name() are in stack.c);
 * this file only maps ids to names and back.
 *
 * SPDX-License-Identifier: MIT
 */
#include "synq.h"

#include <errno.h>
#include <string.h>

static const char *const counter_names[SYNQ_COUNTER_COUNT] = {
#define SYNQ_X_NAME(id, name) [id] = name,
	SYNQ_COUNTERS(SYNQ_X_NAME)
#undef SYNQ_X_NAME
};

const char *synq_counter_name(int id)
{
	if (id < 0 || id >= SYNQ_COUNTER_COUNT)
		return NULL;
	return counter_names[id];
}

int synq_counter_id(const char *name)
{
	int i;

	if (!name)
		return -ENOENT;
	for (i = 0; i < SYNQ_COUNTER_COUNT; i++)
		if (strcmp(counter_names[i], name) == 0)
			return i;
	return -ENOENT;
}
