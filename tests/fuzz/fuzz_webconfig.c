// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_webconfig.c - libFuzzer target for the web configuration parser
 * (--web-config: the exporter toolkit's YAML), through libyaml.
 *
 * fuzz-flags: -max_len=8192 -dict=tests/fuzz/webconfig.dict
 *
 * Layout: the file's text, as bytes (NULs and all), copied to an
 * exact-size heap buffer so ASan sees any over-read.
 *
 * Invariants checked (abort on violation):
 * - the result is 0 or -EINVAL; an error is one line naming the file,
 *   and no settings come with it;
 * - accepted settings keep the toolkit's rules: a certificate and a key
 *   when TLS is on, min_version <= max_version, client CAs only with a
 *   client auth policy, a CA for the policies that verify, bcrypt hashes,
 *   distinct user names without ':', header values without line breaks,
 *   a burst for a rate limit;
 * - every GnuTLS priority string made is one GnuTLS accepts, and exists
 *   exactly when TLS is on;
 * - the same text gives the same answer twice (no hidden state).
 */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/webconfig.h"

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

static void check(const struct webconfig *c)
{
	gnutls_priority_t prio;
	const char *errpos;
	bool ca;

	CHECK(c->source && !strcmp(c->source, "fuzz.yml"));
	CHECK(c->min_version >= WEBCONFIG_TLS10 && c->max_version <= WEBCONFIG_TLS13);
	CHECK(c->min_version <= c->max_version);
	CHECK(c->n_ciphers >= 0 && c->n_ciphers <= 17 && c->n_curves >= 0 && c->n_curves <= 4);
	for (int i = 0; i < c->n_ciphers; i++)
		CHECK(webconfig_cipher_name(c->ciphers[i]));
	ca = c->client_ca_file || c->client_ca;
	if (c->tls) {
		CHECK(c->cert_file || c->cert);
		CHECK(c->key_file || c->key);
		CHECK(!(c->cert_file && c->cert) && !(c->key_file && c->key));
		CHECK(!ca || c->client_auth != WEB_NO_CLIENT_CERT);
		CHECK(ca || (c->client_auth != WEB_VERIFY_CLIENT_CERT_IF_GIVEN &&
			     c->client_auth != WEB_REQUIRE_AND_VERIFY_CLIENT_CERT));
		CHECK(c->priority);
		CHECK(gnutls_priority_init(&prio, c->priority, &errpos) == 0);
		gnutls_priority_deinit(prio);
	} else {
		CHECK(!c->priority && !c->cert_file && !c->key_file && !c->cert && !c->key && !ca);
	}
	for (int i = 0; i < c->n_users; i++) {
		CHECK(c->users[i].name && !strchr(c->users[i].name, ':'));
		CHECK(c->users[i].hash && webconfig_bcrypt_cost(c->users[i].hash) >= 4);
		CHECK(webconfig_user(c, c->users[i].name) == &c->users[i]);
	}
	for (int i = 0; i < WEB_HDR_MAX; i++)
		CHECK(!c->headers[i] || (*c->headers[i] && !strpbrk(c->headers[i], "\r\n")));
	CHECK(!c->rate_interval_ns || c->rate_burst >= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webconfig *c = NULL, *c2 = NULL;
	char err[512], err2[512];
	char *copy;
	int rc, rc2;

	if (size > 8192)
		return 0;
	copy = malloc(size ? size : 1);
	CHECK(copy);
	memcpy(copy, data, size);
	rc = webconfig_parse("fuzz.yml", copy, size, &c, err, sizeof(err));
	CHECK(rc == 0 || rc == -EINVAL);
	if (rc) {
		CHECK(!c);
		CHECK(!strncmp(err, "fuzz.yml", 8) && !strchr(err, '\n'));
	} else {
		CHECK(c);
		check(c);
	}
	rc2 = webconfig_parse("fuzz.yml", copy, size, &c2, err2, sizeof(err2));
	CHECK(rc == rc2);
	if (rc)
		CHECK(!strcmp(err, err2));
	else
		CHECK(c2 && c2->tls == c->tls && c2->n_users == c->n_users &&
		      (!c->priority || !strcmp(c->priority, c2->priority)));
	webconfig_free(c);
	webconfig_free(c2);
	free(copy);
	return 0;
}
