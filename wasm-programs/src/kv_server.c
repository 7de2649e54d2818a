/* kv_server - a key-value store with three fronts on one keyspace:
 *
 *   listener `resp`  RESP2, so redis-cli, redis-benchmark and Redis client
 *                    libraries work (kv_resp.c, kv_cmd_*.c)
 *   listener `http`  HTTP/1.1: GET/HEAD/PUT/POST/DELETE /<key>, GET / lists
 *                    the keys as JSON (kv_http.c)
 *   listener `line`  the original RepliCode line protocol (kv_line.c)
 *
 * Listeners are found by name in LISTEN_FDNAMES (fd 3 + index); a name
 * missing there is simply not served, and a listener with another name gets
 * its connections closed. Without LISTEN_FDNAMES, fd 3 speaks RESP.
 *
 * Expiry runs on guest time: CLOCK_REALTIME, the frame's time in Replicode.
 * An expired key disappears when it is next touched; while keys have a TTL,
 * a sweep every KV_SWEEP_INTERVAL_MS (a poll timeout, so a timer frame in
 * Replicode) removes expired ones in the background.
 */
#include "kv.h"
#include "kv_store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t kv_now_ms;
size_t kv_sessions_open;
uint64_t kv_stat_connections;
uint64_t kv_stat_commands;

static uint64_t next_session_id = 1;
static int64_t next_sweep_ms;

size_t kv_max_value_bytes = KV_DEFAULT_MAX_VALUE_BYTES;

/* KV_MAX_VALUE_BYTES from the environment (see kv.h); a bad one is said and
 * the default kept. */
static void read_value_limit(void) {
    const char *s = getenv("KV_MAX_VALUE_BYTES");
    if (s == NULL || *s == '\0')
        return;
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    if (*end != '\0' || n < 1024 || n > 512ull * 1024 * 1024) {
        fprintf(stderr, "kv: bad KV_MAX_VALUE_BYTES=%s (want 1024..536870912), using %zu\n", s,
                kv_max_value_bytes);
        return;
    }
    kv_max_value_bytes = (size_t)n;
}
/* Protocol per listener index; 0 (KV_PROTO_NONE) until looked up. */
static int listener_proto[NETLOOP_MAX_LISTENERS];
static int listener_known[NETLOOP_MAX_LISTENERS];

typedef struct {
    int (*start)(session *s);
    int (*feed)(session *s, const char *data, size_t len);
    void (*run)(conn_t *c, session *s);
    void (*stop)(session *s);
    const char *refusal; /* sent when the connection limit is reached */
} front;

static const front fronts[] = {
    [KV_PROTO_RESP] = {resp_front_start, resp_front_feed, resp_front_run,
                       resp_front_stop, "-ERR max number of clients reached\r\n"},
    [KV_PROTO_HTTP] = {http_front_start, http_front_feed, http_front_run,
                       http_front_stop,
                       "HTTP/1.1 503 Service Unavailable\r\n"
                       "Content-Type: text/plain\r\nContent-Length: 30\r\n"
                       "Connection: close\r\n\r\n"
                       "max number of clients reached\n"},
    [KV_PROTO_LINE] = {line_front_start, line_front_feed, line_front_run,
                       line_front_stop, "ERR: Too many connections\n"},
};

static void update_clock(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    kv_now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int proto_of_name(const char *name) {
    if (strcmp(name, "resp") == 0 || strcmp(name, "") == 0)
        return KV_PROTO_RESP;
    if (strcmp(name, "http") == 0)
        return KV_PROTO_HTTP;
    if (strcmp(name, "line") == 0)
        return KV_PROTO_LINE;
    return KV_PROTO_NONE;
}

static int proto_of(int li) {
    if (li < 0 || li >= NETLOOP_MAX_LISTENERS)
        return KV_PROTO_NONE;
    if (!listener_known[li]) {
        const char *name = netloop_listener_name(li);
        listener_known[li] = 1;
        listener_proto[li] = proto_of_name(name);
        if (listener_proto[li] == KV_PROTO_NONE)
            fprintf(stderr, "kv: listener '%s' (fd %d) is not resp, http or "
                    "line: its connections are closed\n", name, 3 + li);
    }
    return listener_proto[li];
}

void kv_close(conn_t *c, session *s) {
    s->closed = 1;
    conn_close(c);
}

/* The connection's session, created on its first bytes. */
static session *session_of(conn_t *c) {
    session *s = conn_data(c);
    if (s != NULL)
        return s;
    int proto = proto_of(conn_listener(c));
    if (proto == KV_PROTO_NONE) {
        conn_close(c);
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL || fronts[proto].start(s) != 0) {
        free(s);
        conn_close(c);
        return NULL;
    }
    s->proto = proto;
    s->id = next_session_id++;
    conn_set_data(c, s);
    kv_sessions_open++;
    kv_stat_connections++;
    return s;
}

static void on_data(conn_t *c, const char *data, size_t len) {
    session *s = session_of(c);
    if (s == NULL || s->closed)
        return;
    update_clock();
    if (fronts[s->proto].feed(s, data, len) != 0) {
        kv_close(c, s); /* out of memory for this connection's input */
        return;
    }
    fronts[s->proto].run(c, s);
}

static void on_drain(conn_t *c) {
    session *s = conn_data(c);
    if (s == NULL || s->closed)
        return;
    update_clock();
    fronts[s->proto].run(c, s);
}

static void on_eof(conn_t *c) {
    session *s = conn_data(c);
    if (s == NULL) {
        conn_close(c);
        return;
    }
    s->eof = 1;
    if (s->closed)
        return;
    update_clock();
    fronts[s->proto].run(c, s);
}

static void on_close(conn_t *c) {
    session *s = conn_data(c);
    if (s == NULL)
        return;
    fronts[s->proto].stop(s);
    free(s->name);
    free(s);
    conn_set_data(c, NULL);
    kv_sessions_open--;
}

static int expiry_tick(void);

/* Active expiry: a sweep every KV_SWEEP_INTERVAL_MS while keys have a TTL.
 * The deadline is absolute, so the poll timeout asks for the same time
 * until it has come. */
static int on_tick(void) {
    update_clock();
    /* Clients blocked past their timeout are answered; the next timeout bounds the wait. */
    int blocked = kv_block_tick();
    int wait = expiry_tick();
    if (blocked >= 0 && (wait < 0 || blocked < wait))
        wait = blocked;
    /* A flush's entries are freed over the next frames, 1 ms apart. */
    if (kv_lazy_free(KV_FREE_PER_TICK) != 0)
        return wait < 0 || wait > 1 ? 1 : wait;
    return wait;
}

static int expiry_tick(void) {
    if (kv_count_volatile() == 0) {
        next_sweep_ms = 0;
        return -1;
    }
    update_clock();
    if (next_sweep_ms == 0)
        next_sweep_ms = kv_now_ms + KV_SWEEP_INTERVAL_MS;
    if (kv_now_ms >= next_sweep_ms) {
        kv_sweep(kv_now_ms, KV_SWEEP_BUCKETS);
        next_sweep_ms = kv_now_ms + KV_SWEEP_INTERVAL_MS;
        if (kv_count_volatile() == 0) {
            next_sweep_ms = 0;
            return -1;
        }
    }
    int64_t wait = next_sweep_ms - kv_now_ms;
    return wait > INT_MAX ? INT_MAX : (int)wait;
}

static const char *on_refusal(int listener) {
    int proto = proto_of(listener);
    return proto == KV_PROTO_NONE ? NULL : fronts[proto].refusal;
}

/* The listeners hung up (an upgrade): keep the keys for the next version. */
static void on_stop(void) {
    update_clock();
    kv_dump_save();
}

int main(void) {
    uint8_t seed[16];
    if (getentropy(seed, sizeof seed) != 0)
        memset(seed, 0x5a, sizeof seed);
    read_value_limit();
    kv_init(seed, KV_MAX_MEMORY);
    update_clock();
    kv_dump_load();
    netloop_on_stop(on_stop);
    netloop_on_close(on_close);
    netloop_on_eof(on_eof);
    netloop_on_drain(on_drain);
    netloop_on_tick(on_tick);
    netloop_on_refusal(on_refusal);
    netloop_run_raw("kv", on_data);
}
