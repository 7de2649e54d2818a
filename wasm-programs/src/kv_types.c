/* kv_types.c - what the store needs to know of the collection types: how to
 * free one.  The types themselves are in kv_hash.c. */
#include "kv_hash.h"
#include "kv_list.h"
#include "kv_set.h"
#include "kv_zset.h"
#include "kv_store.h"

void kv_object_free(int type, void *obj) {
    if (type == KV_T_HASH)
        kv_hash_free(obj);
    else if (type == KV_T_LIST)
        kv_list_free(obj);
    else if (type == KV_T_SET)
        kv_set_free(obj);
    else if (type == KV_T_ZSET)
        kv_zset_free(obj);
}
