/*
 * ctl.c — control socket server and client (see ctl.h, docs/ctl.md).
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* accept4, struct ucred */
#include "drivers/ctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_MAX_CLIENTS 32

struct ctl_client {
	int fd;
	char in[CTL_LINE_MAX];
	size_t n_in;
	char *out;
	size_t n_out, off_out;
};

struct ctl_server {
	struct loop *loop;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ctl_handler_fn fn;
	void *user;
	struct ctl_client cl[CTL_MAX_CLIENTS];
};

static void errf(char *err, size_t cap, const char *fmt, ...)
{
	if (!cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

static int sun_set(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (!path || !path[0] || strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

static void client_close(struct ctl_server *c, struct ctl_client *k)
{
	if (k->fd < 0)
		return;
	loop_del(c->loop, k->fd);
	close(k->fd);
	free(k->out);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
}

static void client_flush(struct ctl_server *c, struct ctl_client *k)
{
	while (k->off_out < k->n_out) {
		ssize_t w = send(k->fd, k->out + k->off_out, k->n_out - k->off_out, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			loop_mod(c->loop, k->fd, EPOLLOUT);
			return;
		}
		if (w <= 0)
			break;
		k->off_out += (size_t)w;
	}
	client_close(c, k);
}

static void client_answer(struct ctl_server *c, struct ctl_client *k, const char *line)
{
	char *body = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&body, &n);
	if (!f) {
		client_close(c, k);
		return;
	}
	int rc = -1;
	if (line)
		rc = c->fn(c->user, line, f);
	else
		fprintf(f, "request line longer than %d bytes", CTL_LINE_MAX - 2);
	fclose(f);
	size_t head = rc == 0 ? 3 : 6;
	k->out = malloc(head + n + 2);
	if (!k->out) {
		free(body);
		client_close(c, k);
		return;
	}
	memcpy(k->out, rc == 0 ? "ok\n" : "error ", head);
	memcpy(k->out + head, body, n);
	k->n_out = head + n;
	if (rc != 0 && (n == 0 || body[n - 1] != '\n'))
		k->out[k->n_out++] = '\n';
	free(body);
	client_flush(c, k);
}

static void on_client(void *user, int fd, uint32_t events)
{
	struct ctl_server *c = user;
	struct ctl_client *k = NULL;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->cl[i].fd == fd)
			k = &c->cl[i];
	if (!k)
		return;
	if (k->out) {
		client_flush(c, k);
		return;
	}
	for (;;) {
		ssize_t r = recv(fd, k->in + k->n_in, sizeof(k->in) - 1 - k->n_in, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			if (r == 0 && k->n_in > 0)
				break; /* a last line without newline */
			client_close(c, k);
			return;
		}
		k->n_in += (size_t)r;
		if (memchr(k->in, '\n', k->n_in))
			break;
		if (k->n_in >= sizeof(k->in) - 1) {
			client_answer(c, k, NULL);
			return;
		}
	}
	k->in[k->n_in] = 0;
	char *nl = strchr(k->in, '\n');
	if (nl)
		*nl = 0;
	size_t len = strlen(k->in);
	if (len && k->in[len - 1] == '\r')
		k->in[len - 1] = 0;
	client_answer(c, k, k->in);
}

static void on_listen(void *user, int fd, uint32_t events)
{
	struct ctl_server *c = user;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return;
		struct ucred cr;
		socklen_t cl = sizeof(cr);
		if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
		    (cr.uid != 0 && cr.uid != geteuid())) {
			close(cfd);
			continue;
		}
		struct ctl_client *k = NULL;
		for (int i = 0; i < CTL_MAX_CLIENTS && !k; i++)
			if (c->cl[i].fd < 0)
				k = &c->cl[i];
		if (!k || loop_add(c->loop, cfd, EPOLLIN, on_client, c) < 0) {
			static const char busy[] = "error too many control clients\n";
			if (send(cfd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0) {
			}
			close(cfd);
			continue;
		}
		memset(k, 0, sizeof(*k));
		k->fd = cfd;
	}
}

struct ctl_server *ctl_server_new(struct loop *l, const char *path, ctl_handler_fn fn, void *user,
				  int *rc, char *err, size_t cap)
{
	struct sockaddr_un sun;
	*rc = sun_set(&sun, path);
	if (*rc) {
		errf(err, cap, "control socket path too long: %s", path ? path : "");
		return NULL;
	}
	/* the directory: create it (0700) if it does not exist */
	char dir[sizeof(sun.sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			*rc = -errno;
			errf(err, cap, "cannot create %s: %s", dir, strerror(errno));
			return NULL;
		}
	}
	/* a live server there? */
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			*rc = -EADDRINUSE;
			errf(err, cap, "control socket %s is in use by another synq serve (--ctl PATH)",
			     path);
			return NULL;
		}
		close(probe);
	}
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*rc = -EEXIST;
			errf(err, cap, "%s exists and is not a socket", path);
			return NULL;
		}
		unlink(path); /* stale */
	}
	struct ctl_server *c = calloc(1, sizeof(*c));
	if (!c) {
		*rc = -ENOMEM;
		errf(err, cap, "out of memory");
		return NULL;
	}
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		c->cl[i].fd = -1;
	c->loop = l;
	c->fn = fn;
	c->user = user;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		*rc = -errno;
		errf(err, cap, "socket(AF_UNIX): %s", strerror(errno));
		free(c);
		return NULL;
	}
	mode_t old = umask(0177);
	int b = bind(c->fd, (struct sockaddr *)&sun, sizeof(sun));
	int e = errno;
	umask(old);
	if (b < 0 || chmod(path, 0600) < 0 || listen(c->fd, 16) < 0) {
		e = b < 0 ? e : errno;
		*rc = -e;
		errf(err, cap, "cannot listen on %s: %s", path, strerror(e));
		close(c->fd);
		if (b == 0)
			unlink(path);
		free(c);
		return NULL;
	}
	*rc = loop_add(l, c->fd, EPOLLIN, on_listen, c);
	if (*rc) {
		errf(err, cap, "epoll: %s", strerror(-*rc));
		close(c->fd);
		unlink(path);
		free(c);
		return NULL;
	}
	return c;
}

void ctl_server_free(struct ctl_server *c)
{
	if (!c)
		return;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		client_close(c, &c->cl[i]);
	loop_del(c->loop, c->fd);
	close(c->fd);
	unlink(c->path);
	free(c);
}

int ctl_query(const char *path, const char *line, int timeout_ms, char **reply)
{
	*reply = NULL;
	struct sockaddr_un sun;
	int rc = sun_set(&sun, path);
	if (rc)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	size_t ll = strlen(line);
	char *req = malloc(ll + 2);
	if (!req) {
		close(fd);
		return -ENOMEM;
	}
	memcpy(req, line, ll);
	req[ll] = '\n';
	ssize_t w = send(fd, req, ll + 1, MSG_NOSIGNAL);
	free(req);
	if (w != (ssize_t)(ll + 1)) {
		close(fd);
		return -EPIPE;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int pr = poll(&p, 1, timeout_ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			rc = pr == 0 ? -ETIMEDOUT : -errno;
			break;
		}
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	if (rc == 0 && strncmp(buf, "ok\n", 3) != 0 && strncmp(buf, "error ", 6) != 0)
		rc = -EPROTO;
	if (rc) {
		free(buf);
		return rc;
	}
	*reply = buf;
	return 0;
}

int ctl_default_path(char *buf, size_t cap)
{
	if (cap)
		buf[0] = 0;
	DIR *d = opendir(CTL_DIR);
	if (!d)
		return -ENOENT;
	int found = 0;
	size_t used = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t nl = strlen(e->d_name);
		if (nl < 6 || strcmp(e->d_name + nl - 5, ".sock") != 0)
			continue;
		int w = snprintf(buf + used, cap > used ? cap - used : 0, "%s%s/%s",
				 found ? " " : "", CTL_DIR, e->d_name);
		if (w > 0 && used + (size_t)w < cap)
			used += (size_t)w;
		found++;
	}
	closedir(d);
	if (found == 0)
		return -ENOENT;
	return found == 1 ? 0 : -EEXIST;
}

int ctl_call(const char *path, const char *line, char **body_alloc, const char **body, char *err,
	     size_t cap)
{
	*body_alloc = NULL;
	*body = "";
	char def[512];
	if (!path) {
		int rc = ctl_default_path(def, sizeof(def));
		if (rc == -ENOENT) {
			errf(err, cap, "no synq serve control socket in %s (is synq serve running? "
				       "else --ctl PATH)", CTL_DIR);
			return rc;
		}
		if (rc == -EEXIST) {
			errf(err, cap, "several control sockets in %s, choose one with --ctl: %s",
			     CTL_DIR, def);
			return rc;
		}
		path = def;
	}
	char *reply;
	int rc = ctl_query(path, line, 5000, &reply);
	if (rc) {
		if (rc == -ENOENT || rc == -ECONNREFUSED)
			errf(err, cap, "no synq serve at %s: %s", path, strerror(-rc));
		else if (rc == -EACCES || rc == -EPERM)
			errf(err, cap, "%s: %s (the control socket is private to its owner)", path,
			     strerror(-rc));
		else if (rc == -EPROTO)
			errf(err, cap, "%s: not a synq control socket (unexpected reply)", path);
		else
			errf(err, cap, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (!strncmp(reply, "error ", 6)) {
		char *m = reply + 6;
		size_t n = strcspn(m, "\n");
		errf(err, cap, "%.*s", (int)n, m);
		free(reply);
		return 1;
	}
	*body_alloc = reply;
	*body = reply + 3;
	return 0;
}
