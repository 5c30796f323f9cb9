/*
 * notify.c: tell the service manager how the daemon is doing (systemd's
 * sd_notify protocol): one datagram of "KEY=value" lines to the AF_UNIX
 * socket named by $NOTIFY_SOCKET ("/path", or "@name" for the abstract
 * namespace). Without $NOTIFY_SOCKET (not started by systemd with
 * Type=notify) every call does nothing.
 *
 * Why not libsystemd's sd_notify(): the protocol is a documented, stable
 * interface (systemd's sd_notify(3) and its "Interface Portability and
 * Stability" promise), and these lines are all of it that trusteed needs;
 * linking libsystemd0 would load liblzma, libzstd, liblz4, libgcrypt and
 * libcap into the process that holds the master key, for one sendto().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/log.h"
#include "trusteed.h"

int
notify_send(const char *fmt, ...)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t salen;
	char msg[512];
	size_t plen;
	va_list ap;
	ssize_t n;
	int fd, len;

	if (path == NULL || path[0] == '\0')
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sa.sun_path)) {
		log_warnx("NOTIFY_SOCKET \"%s\" is not an AF_UNIX socket path; "
		    "not notifying the service manager", path);
		return -1;
	}
	va_start(ap, fmt);
	len = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(msg))
		fatalx("notify_send: message too long");

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, plen);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract: no trailing NUL */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
	    (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("notify: socket");
		return -1;
	}
	do
		n = sendto(fd, msg, (size_t)len, MSG_NOSIGNAL,
		    (struct sockaddr *)&sa, salen);
	while (n == -1 && errno == EINTR);
	if (n != len) {
		log_warn("notify: sending to %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}
