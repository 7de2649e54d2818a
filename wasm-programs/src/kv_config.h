/* kv_config.h - the parameters CONFIG SET may change (kv_cmd_server.c), with
 * Redis 7.0's defaults: the thresholds past which redis-server stops keeping a
 * collection compact (OBJECT ENCODING, and the order HSCAN/SSCAN answer in). */
#ifndef KV_CONFIG_H
#define KV_CONFIG_H

extern long long kv_cfg_hash_max_entries;  /* hash-max-listpack-entries (128) */
extern long long kv_cfg_hash_max_value;    /* hash-max-listpack-value (64) */
extern long long kv_cfg_set_max_intset;    /* set-max-intset-entries (512) */
extern long long kv_cfg_zset_max_entries;  /* zset-max-listpack-entries (128) */
extern long long kv_cfg_zset_max_value;    /* zset-max-listpack-value (64) */
extern long long kv_cfg_list_max_size;     /* list-max-listpack-size (-2): quicklist nodes, not observable here */
extern long long kv_cfg_list_compress;     /* list-compress-depth (0): likewise */

#endif
