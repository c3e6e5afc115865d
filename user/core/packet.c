// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* packet.c - formatting helpers shared by every output. */
#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>

#include "packet.h"

void pkt_format_endpoint(char *buf, size_t len, int family,
			 const uint8_t addr[16], uint16_t port)
{
	char ip[INET6_ADDRSTRLEN];

	if (family == 6) {
		inet_ntop(AF_INET6, addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, port);
	} else {
		inet_ntop(AF_INET, addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, port);
	}
}

void pkt_format_flags(char *buf, size_t len, uint8_t flags)
{
	/* tcpdump's order: S F P R U E W, then '.' for ACK; "none" if empty. */
	static const struct { uint8_t bit; char c; } names[] = {
		{ WST_TCP_SYN, 'S' }, { WST_TCP_FIN, 'F' }, { WST_TCP_PSH, 'P' },
		{ WST_TCP_RST, 'R' }, { WST_TCP_URG, 'U' }, { WST_TCP_ECE, 'E' },
		{ WST_TCP_CWR, 'W' }, { WST_TCP_ACK, '.' },
	};
	size_t n = 0;

	if (len == 0)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((flags & names[i].bit) && n + 1 < len)
			buf[n++] = names[i].c;
	if (n == 0)
		snprintf(buf, len, "none");
	else
		buf[n] = '\0';
}
