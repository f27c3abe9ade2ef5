/*
 * ctl.h — the control socket of `synq serve` (docs/ctl.md): a Unix stream socket, one request
 * line per connection, the reply is text read until EOF.
 *
 *   client: "ss\n"             server: "ok\n" + body lines, then closes
 *                                  or: "error MESSAGE\n", then closes
 *
 * The server side lives in a struct loop; the reply body is written by a handler into a FILE
 * (an open_memstream buffer) and sent without blocking the loop. The socket file is created with
 * mode 0600 (its directory, when ctl_server_new creates it, 0700), and peers whose uid is neither
 * 0 nor ours are refused (SO_PEERCRED).
 *
 * Errors are negative errno values.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYNQ_DRIVERS_CTL_H
#define SYNQ_DRIVERS_CTL_H

#include <stddef.h>
#include <stdio.h>

#include "drivers/loop.h"

#define CTL_DIR "/run/synq"
#define CTL_LINE_MAX 1024

struct ctl_server;

/** Handle one request line (without its newline). Write the body to out and return 0 for "ok",
 *  or return -1 and write the one-line message to out for "error MESSAGE". */
typedef int (*ctl_handler_fn)(void *user, const char *line, FILE *out);

/** Listen at path (a stale socket left by a dead server is replaced; a live one is -EADDRINUSE).
 *  The parent directory is created (0700) if missing. err (cap bytes) explains failures. */
struct ctl_server *ctl_server_new(struct loop *l, const char *path, ctl_handler_fn fn, void *user,
				  int *rc, char *err, size_t cap);
/** Close the listening socket and every client, unlink the socket file. NULL allowed. */
void ctl_server_free(struct ctl_server *c);

/** Client: send line, read the whole reply into *reply (malloc'ed, NUL-terminated; the caller
 *  frees it). Waits at most timeout_ms for the reply. Returns 0, or -ENOENT / -ECONNREFUSED
 *  (no server at path), -EACCES, -ETIMEDOUT, -EPROTO (reply without "ok"/"error" line). */
int ctl_query(const char *path, const char *line, int timeout_ms, char **reply);

/** The default path: if CTL_DIR holds exactly one socket, its path (written into buf);
 *  -ENOENT if none, -EEXIST if several (buf then lists them, space-separated). */
int ctl_default_path(char *buf, size_t cap);

/** What the CLI commands (synq ss, nstat, ctl) do: path (NULL: ctl_default_path()), send line,
 *  wait up to 5 s. Returns 0 with *body = the reply after "ok\n" (free with free(*body_alloc)),
 *  1 when the server answered "error MESSAGE" (MESSAGE in err), or a negative errno with err
 *  explaining it (no server, several servers, permission...). */
int ctl_call(const char *path, const char *line, char **body_alloc, const char **body, char *err,
	     size_t cap);

#endif /* SYNQ_DRIVERS_CTL_H */
