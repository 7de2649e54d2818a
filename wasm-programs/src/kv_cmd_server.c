/* kv_cmd_server.c - connection and server commands: PING ECHO SELECT QUIT
 * TIME AUTH, and minimal but valid answers to what redis-cli,
 * redis-benchmark and client libraries send on connect: CONFIG GET, COMMAND
 * [DOCS|COUNT|INFO|LIST], CLIENT SETNAME/GETNAME/SETINFO/ID, INFO.  HELLO
 * is not in the table: it gets "unknown command", the answer of a Redis
 * before 6, on which clients stay with RESP2. */
#include "kv_cmd.h"
#include "kv_config.h"

#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void cmd_ping(kv_call *k) {
    if (k->argc > 2)
        reply_arity(k, "ping");
    else if (k->argc == 2)
        reply_bulk(k, k->argv[1], k->argl[1]);
    else
        reply_status(k, "PONG");
}

void cmd_echo(kv_call *k) { reply_bulk(k, k->argv[1], k->argl[1]); }

void cmd_select(kv_call *k) {
    long long db;
    if (arg_ll(k, 1, &db) != 0)
        return;
    if (db != 0)
        reply_error(k, "ERR DB index is out of range");
    else
        reply_ok(k);
}

void cmd_quit(kv_call *k) {
    reply_ok(k);
    kv_close(k->c, k->s);
}

void cmd_time(kv_call *k) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char sec[24], usec[24];
    int ns = snprintf(sec, sizeof sec, "%lld", (long long)ts.tv_sec);
    int nu = snprintf(usec, sizeof usec, "%ld", (long)(ts.tv_nsec / 1000));
    reply_array(k, 2);
    reply_bulk(k, sec, (size_t)ns);
    reply_bulk(k, usec, (size_t)nu);
}

void cmd_auth(kv_call *k) {
    reply_error(k, "ERR AUTH <password> called without any password configured "
                   "for the default user. Are you sure your configuration is correct?");
}

/* ---- CONFIG ---------------------------------------------------------- */

long long kv_cfg_hash_max_entries = 128, kv_cfg_hash_max_value = 64, kv_cfg_set_max_intset = 512,
          kv_cfg_zset_max_entries = 128, kv_cfg_zset_max_value = 64, kv_cfg_list_max_size = -2, kv_cfg_list_compress = 0;

/* The parameters CONFIG SET changes, under Redis 7's names and their older aliases. */
static const struct {
    const char *name, *alias;
    long long *value;
    long long min, max;
} settable[] = {
    {"hash-max-listpack-entries", "hash-max-ziplist-entries", &kv_cfg_hash_max_entries, 0, LLONG_MAX},
    {"hash-max-listpack-value", "hash-max-ziplist-value", &kv_cfg_hash_max_value, 0, LLONG_MAX},
    {"set-max-intset-entries", NULL, &kv_cfg_set_max_intset, 0, LLONG_MAX},
    {"zset-max-listpack-entries", "zset-max-ziplist-entries", &kv_cfg_zset_max_entries, 0, LLONG_MAX},
    {"zset-max-listpack-value", "zset-max-ziplist-value", &kv_cfg_zset_max_value, 0, LLONG_MAX},
    {"list-max-listpack-size", "list-max-ziplist-size", &kv_cfg_list_max_size, INT_MIN, INT_MAX},
    {"list-compress-depth", NULL, &kv_cfg_list_compress, 0, INT_MAX},
};
#define N_SETTABLE (sizeof settable / sizeof settable[0])

static void config_value(const char *name, char *out, size_t cap) {
    if (strcmp(name, "save") == 0)
        snprintf(out, cap, "%s", "");
    else if (strcmp(name, "appendonly") == 0)
        snprintf(out, cap, "%s", "no");
    else if (strcmp(name, "databases") == 0)
        snprintf(out, cap, "%d", 1);
    else if (strcmp(name, "maxmemory") == 0)
        snprintf(out, cap, "%zu", kv_memory_limit());
    else if (strcmp(name, "maxclients") == 0)
        snprintf(out, cap, "%d", netloop_max_conns());
    else if (strcmp(name, "proto-max-bulk-len") == 0)
        snprintf(out, cap, "%zu", KV_MAX_VALUE_BYTES);
    else {
        snprintf(out, cap, "%s", "");
        for (size_t i = 0; i < N_SETTABLE; i++)
            if (strcmp(name, settable[i].name) == 0 || (settable[i].alias && strcmp(name, settable[i].alias) == 0))
                snprintf(out, cap, "%lld", *settable[i].value);
    }
}


/* What CONFIG GET answers: Redis 7 matches the older names (ziplist) too, each answered under the name matched. */
static const char *const config_names[] = {
    "save", "appendonly", "databases", "maxmemory", "maxclients",
    "proto-max-bulk-len", "hash-max-listpack-entries", "hash-max-listpack-value", "set-max-intset-entries",
    "zset-max-listpack-entries", "zset-max-listpack-value", "list-max-listpack-size", "list-compress-depth",
    "hash-max-ziplist-entries", "hash-max-ziplist-value", "zset-max-ziplist-entries", "zset-max-ziplist-value",
    "list-max-ziplist-size"};
#define N_CONFIG (sizeof config_names / sizeof config_names[0])

/* CONFIG GET pattern [pattern ...]: name, value pairs (each name once). */
static void config_get(kv_call *k) {
    int hit[N_CONFIG] = {0};
    size_t n = 0;
    for (size_t j = 2; j < k->argc; j++)
        for (size_t i = 0; i < N_CONFIG; i++)
            if (!hit[i] && kv_glob_match(k->argv[j], k->argl[j], config_names[i],
                                         strlen(config_names[i]), 1)) {
                hit[i] = 1;
                n++;
            }
    reply_array(k, 2 * n);
    for (size_t i = 0; i < N_CONFIG; i++) {
        if (!hit[i])
            continue;
        char value[32];
        config_value(config_names[i], value, sizeof value);
        reply_cstr(k, config_names[i]);
        reply_cstr(k, value);
    }
}

/* CONFIG SET name value [name value ...]: every pair checked before any is applied, as Redis does. */
static void config_set(kv_call *k) {
    if (k->argc < 4 || k->argc % 2 != 0) {
        reply_arity(k, "config|set");
        return;
    }
    long long values[N_SETTABLE];
    int which[N_SETTABLE];
    size_t n = 0;
    for (size_t j = 2; j < k->argc; j += 2) {
        if (arg_is(k, j, "save")) {
            /* The kv writes no RDB file (its history is the replay log), so "" (no snapshots), which clients and
             * Redis's own tests set, is the one value it takes. */
            if (k->argl[j + 1] != 0) {
                reply_error(k, "ERR CONFIG SET failed (possibly related to argument 'save') - this server keeps no RDB"
                               " snapshots (its history is the replay log): only '' is accepted");
                return;
            }
            continue; /* save is always "" */
        }
        size_t i = 0;
        while (i < N_SETTABLE && !arg_is(k, j, settable[i].name) && !(settable[i].alias && arg_is(k, j, settable[i].alias)))
            i++;
        if (i == N_SETTABLE || n == N_SETTABLE) {
            reply_error(k, "ERR Unknown option or number of arguments for CONFIG SET - '%.128s'", k->argv[j]);
            return;
        }
        long long v;
        if (resp_parse_ll(k->argv[j + 1], k->argl[j + 1], &v) != 0 || v < settable[i].min || v > settable[i].max) {
            reply_error(k, "ERR CONFIG SET failed (possibly related to argument '%.128s') - argument couldn't be parsed "
                           "into an integer", k->argv[j]);
            return;
        }
        which[n] = (int)i;
        values[n++] = v;
    }
    for (size_t m = 0; m < n; m++)
        *settable[which[m]].value = values[m];
    reply_ok(k);
}

void cmd_config(kv_call *k) {
    if (arg_is(k, 1, "get")) {
        if (k->argc < 3)
            reply_arity(k, "config|get");
        else
            config_get(k);
    } else if (arg_is(k, 1, "set")) {
        config_set(k);
    } else if (arg_is(k, 1, "resetstat")) {
        reply_ok(k);
    } else {
        reply_unknown_subcommand(k, "CONFIG");
    }
}

/* ---- COMMAND --------------------------------------------------------- */

void cmd_command(kv_call *k) {
    if (k->argc == 1 || arg_is(k, 1, "docs")) {
        reply_array(k, 0); /* no command documentation: clients do without */
    } else if (arg_is(k, 1, "count")) {
        reply_int(k, (long long)kv_command_count());
    } else if (arg_is(k, 1, "info")) {
        reply_array(k, k->argc - 2);
        for (size_t i = 2; i < k->argc; i++)
            reply_nil(k);
    } else if (arg_is(k, 1, "list")) {
        reply_array(k, kv_command_count());
        for (size_t i = 0; i < kv_command_count(); i++)
            reply_cstr(k, kv_command_name(i));
    } else {
        reply_unknown_subcommand(k, "COMMAND");
    }
}

/* ---- CLIENT ---------------------------------------------------------- */

static void client_setname(kv_call *k) {
    if (k->argc != 3) {
        reply_arity(k, "client|setname");
        return;
    }
    for (size_t i = 0; i < k->argl[2]; i++) {
        char ch = k->argv[2][i];
        if (ch < '!' || ch > '~') {
            reply_error(k, "ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
    }
    char *name = NULL;
    if (k->argl[2] > 0) {
        name = malloc(k->argl[2] + 1);
        if (name == NULL) {
            reply_store_error(k, KV_ENOMEM);
            return;
        }
        memcpy(name, k->argv[2], k->argl[2] + 1);
    }
    free(k->s->name);
    k->s->name = name;
    reply_ok(k);
}

void cmd_client(kv_call *k) {
    if (arg_is(k, 1, "setname")) {
        client_setname(k);
    } else if (arg_is(k, 1, "getname")) {
        if (k->s->name != NULL)
            reply_cstr(k, k->s->name);
        else
            reply_nil(k);
    } else if (arg_is(k, 1, "setinfo")) {
        if (k->argc != 4)
            reply_arity(k, "client|setinfo");
        else
            reply_ok(k);
    } else if (arg_is(k, 1, "id")) {
        reply_int(k, (long long)k->s->id);
    } else {
        reply_unknown_subcommand(k, "CLIENT");
    }
}

/* ---- INFO ------------------------------------------------------------ */

static void info_server(char *out, size_t cap) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(out, cap,
             "# Server\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\n"
             "os:Replicode WASI\r\narch_bits:32\r\nmultiplexing_api:poll\r\n"
             "process_id:1\r\nuptime_in_seconds:%lld\r\n",
             (long long)ts.tv_sec);
}

static void info_clients(char *out, size_t cap) {
    snprintf(out, cap, "# Clients\r\nconnected_clients:%zu\r\nmaxclients:%d\r\n",
             kv_sessions_open, netloop_max_conns());
}

static void info_memory(char *out, size_t cap) {
    snprintf(out, cap, "# Memory\r\nused_memory:%zu\r\nmaxmemory:%zu\r\n",
             kv_memory_used(), kv_memory_limit());
}

static void info_keyspace(char *out, size_t cap) {
    if (kv_count() == 0)
        snprintf(out, cap, "# Keyspace\r\n");
    else
        snprintf(out, cap, "# Keyspace\r\ndb0:keys=%zu,expires=%zu,avg_ttl=0\r\n",
                 kv_count(), kv_count_volatile());
}

/* Counted the same on every replica (they run the same frames); per-second
 * rates would need wall time between frames, so they are 0. */
static void info_stats(char *out, size_t cap) {
    snprintf(out, cap,
             "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
             "instantaneous_ops_per_sec:0\r\nrejected_connections:0\r\nexpired_keys:%llu\r\nevicted_keys:0\r\n",
             (unsigned long long)kv_stat_connections, (unsigned long long)kv_stat_commands,
             (unsigned long long)kv_stat_expired_keys);
}

static const struct {
    const char *name;
    void (*fn)(char *out, size_t cap);
} info_sections[] = {{"server", info_server},
                     {"clients", info_clients},
                     {"memory", info_memory},
                     {"stats", info_stats},
                     {"keyspace", info_keyspace}};
#define N_SECTIONS (sizeof info_sections / sizeof info_sections[0])

static int section_wanted(const kv_call *k, const char *name) {
    if (k->argc == 1)
        return 1;
    for (size_t j = 1; j < k->argc; j++)
        if (arg_is(k, j, name) || arg_is(k, j, "all") ||
            arg_is(k, j, "everything") || arg_is(k, j, "default"))
            return 1;
    return 0;
}

void cmd_info(kv_call *k) {
    char text[1024] = "";
    size_t n = 0;
    for (size_t i = 0; i < N_SECTIONS; i++) {
        if (!section_wanted(k, info_sections[i].name))
            continue;
        if (n > 0 && n + 2 < sizeof text) {
            memcpy(text + n, "\r\n", 3);
            n += 2;
        }
        info_sections[i].fn(text + n, sizeof text - n);
        n += strlen(text + n);
    }
    reply_bulk(k, text, n);
}

/* FUNCTION: there are no functions (no scripting), so FLUSH has nothing to
 * remove and LIST nothing to list; what redis-cli and Redis's test suite send. */
void cmd_function(kv_call *k) {
    if (arg_is(k, 1, "flush") && (k->argc == 2 || (k->argc == 3 && (arg_is(k, 2, "async") || arg_is(k, 2, "sync"))))) {
        reply_ok(k);
    } else if (arg_is(k, 1, "list") && k->argc == 2) {
        reply_array(k, 0);
    } else {
        reply_unknown_subcommand(k, "FUNCTION");
    }
}
