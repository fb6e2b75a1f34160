/*
 * fuzz_env.h: a fake engine environment for the fuzz targets: a settable
 * clock, a fixed-seed PRNG, sends and logs dropped. Header-only so each
 * target is one file.
 */
#ifndef FUZZ_ENV_H
#define FUZZ_ENV_H

#include <stdint.h>
#include <string.h>

#include "cc.h"

struct fuzz_env {
	struct cc_env	env;
	uint64_t	now_ms;
	uint64_t	rng;
};

static cc_mtime_t
fuzz_now(void *arg)
{
	return cc_mtime(((struct fuzz_env *)arg)->now_ms);
}

static uint32_t
fuzz_random(void *arg)
{
	struct fuzz_env *f = arg;

	/* xorshift64*: deterministic per run, so crashes reproduce */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return (uint32_t)((f->rng * 2685821657736338717ULL) >> 32);
}

static int
fuzz_send(void *arg, const struct cc_addr *to, const uint8_t *buf, size_t len)
{
	(void)arg;
	(void)to;
	(void)buf;
	(void)len;
	return 0;
}

static void
fuzz_log(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	(void)msg;
}

static void
fuzz_env_init(struct fuzz_env *f)
{
	memset(f, 0, sizeof(*f));
	f->now_ms = 1000000;
	f->rng = 0x9e3779b97f4a7c15ULL;
	f->env.now = fuzz_now;
	f->env.random_u32 = fuzz_random;
	f->env.send = fuzz_send;
	f->env.log = fuzz_log;
	f->env.arg = f;
}

/* 127.0.0.1:port */
static struct cc_addr
fuzz_addr(uint16_t port)
{
	struct cc_addr a;

	memset(&a, 0, sizeof(a));
	a.family = CC_AF_INET;
	a.ip[0] = 127;
	a.ip[3] = 1;
	a.port = port;
	return a;
}

#endif /* FUZZ_ENV_H */
