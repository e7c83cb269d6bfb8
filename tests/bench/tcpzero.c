/* tcpzero: both ends of the published-port benchmark (tests/bench/port.sh).
 *   tcpzero serve PORT BYTES   accept for ever; send BYTES zero bytes to each
 *                              client, then close
 *   tcpzero get IP PORT        read to the end; print "BYTES SECONDS"
 * Static, so that it runs inside a busybox container too. 1 MiB reads and
 * writes: the program is never what limits the figure. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 20];

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timespec t0, t1;
	long long total = 0, want;
	ssize_t n;
	int s = socket(AF_INET, SOCK_STREAM, 0), c, one = 1;
	if (argc == 4 && !strcmp(argv[1], "serve")) {
		a.sin_port = htons((unsigned short)atoi(argv[2]));
		want = atoll(argv[3]);
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 8) < 0)
			return perror("bind"), 1;
		for (;;) {
			if ((c = accept(s, NULL, NULL)) < 0)
				continue;
			for (total = 0; total < want; total += n) {
				n = write(c, buf, (size_t)(want - total < (long long)sizeof buf ?
							   want - total : (long long)sizeof buf));
				if (n <= 0)
					break;
			}
			close(c);
		}
	}
	if (argc != 4 || strcmp(argv[1], "get") || inet_pton(AF_INET, argv[2], &a.sin_addr) != 1)
		return fprintf(stderr, "usage: tcpzero serve PORT BYTES | get IP PORT\n"), 2;
	a.sin_port = htons((unsigned short)atoi(argv[3]));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (connect(s, (struct sockaddr *)&a, sizeof a) < 0)
		return perror("connect"), 1;
	while ((n = read(s, buf, sizeof buf)) > 0)
		total += n;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%lld %.6f\n", total, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
