/* The SQLite store (store.h): bindings and credentials in one database file
 * in WAL mode. Synchronous: every callback runs before the operation
 * returns. A put is one transaction, so a failure leaves the AOR's previous
 * bindings whole and no other AOR is touched (ARCHITECTURE.md: a storage
 * failure is a 500, never a lost binding). */
#include "store_int.h"

#include <sipsrv/error.h>

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* PRAGMA application_id of a sipsrv database: "SSRV". */
#define APP_ID 0x53535256

enum { Q_GET, Q_DEL, Q_INS, Q_EXPIRE, Q_CRED, Q_CRED_PUT, Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_N };

static const char *const sql_text[Q_N] = {
  "SELECT contact, params, expires, q, call_id, cseq, path, instance, reg_id, received,"
  " user_agent, updated FROM binding WHERE aor = ?1 AND expires > ?2 ORDER BY pos",
  "DELETE FROM binding WHERE aor = ?1",
  "INSERT INTO binding (aor, pos, contact, params, expires, q, call_id, cseq, path, instance,"
  " reg_id, received, user_agent, updated)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
  "DELETE FROM binding WHERE expires <= ?1",
  "SELECT ha1_md5, ha1_sha256, ha1_sha512_256 FROM credential WHERE username = ?1 AND realm = ?2",
  /* Loading the same users file again writes nothing (no sync per user). */
  "INSERT INTO credential (username, realm, ha1_md5, ha1_sha256, ha1_sha512_256)"
  " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (username, realm) DO UPDATE SET"
  " ha1_md5 = excluded.ha1_md5, ha1_sha256 = excluded.ha1_sha256,"
  " ha1_sha512_256 = excluded.ha1_sha512_256"
  " WHERE ha1_md5 IS NOT excluded.ha1_md5 OR ha1_sha256 IS NOT excluded.ha1_sha256"
  " OR ha1_sha512_256 IS NOT excluded.ha1_sha512_256",
  "BEGIN IMMEDIATE",
  "COMMIT",
  "ROLLBACK",
};

/* Schema version 1 (SIPSRV_STORE_SQLITE_SCHEMA). A later version adds its
 * migration from the one before; user_version says which one a file has. */
static const char schema_v1[] =
  "CREATE TABLE binding ("
  " aor TEXT NOT NULL, pos INTEGER NOT NULL, contact TEXT NOT NULL, params TEXT,"
  " expires INTEGER NOT NULL, q INTEGER NOT NULL, call_id TEXT, cseq INTEGER NOT NULL,"
  " path TEXT, instance TEXT, reg_id INTEGER NOT NULL, received TEXT, user_agent TEXT,"
  " updated INTEGER NOT NULL, PRIMARY KEY (aor, pos)) WITHOUT ROWID;"
  "CREATE INDEX binding_expires ON binding (expires);"
  "CREATE TABLE credential ("
  " username TEXT NOT NULL, realm TEXT NOT NULL, ha1_md5 TEXT, ha1_sha256 TEXT,"
  " ha1_sha512_256 TEXT, PRIMARY KEY (username, realm)) WITHOUT ROWID;"
  "PRAGMA application_id = 1397969494;"
  "PRAGMA user_version = 1;";

typedef struct sql_store {
  sipsrv_core *core;          /* its own, for the allocator */
  sqlite3 *db;
  sqlite3_stmt *q[Q_N];
} sql_store;

/* What a failed SQLite call means to the caller. */
static int map_rc(int rc)
{
  switch (rc & 0xff) {
  case SQLITE_NOMEM:
    return SIPSRV_E_NOMEM;
  case SQLITE_CANTOPEN:
  case SQLITE_READONLY:
  case SQLITE_PERM:
  case SQLITE_IOERR:
  case SQLITE_FULL:
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return SIPSRV_E_IO;
  default:
    return SIPSRV_E_STORE;
  }
}

/* Run a prepared statement that returns no row, and make it ready again. */
static int run(sqlite3_stmt *st)
{
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
  if (s)
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, i);
}

/* ---- bindings ----------------------------------------------------------- */

static int sq_put(void *user, const char *aor, const sipsrv_binding *b, size_t n,
                  sipsrv_store_done_cb done, void *ctx)
{
  sql_store *s = user;
  sqlite3_stmt *ins = s->q[Q_INS];
  int rc = run(s->q[Q_BEGIN]);

  if (rc == SQLITE_OK) {
    bind_text(s->q[Q_DEL], 1, aor);
    rc = run(s->q[Q_DEL]);
  }
  for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
    bind_text(ins, 1, aor);
    sqlite3_bind_int64(ins, 2, (sqlite3_int64)i);
    bind_text(ins, 3, b[i].contact);
    bind_text(ins, 4, b[i].params);
    sqlite3_bind_int64(ins, 5, b[i].expires);
    sqlite3_bind_int(ins, 6, b[i].q);
    bind_text(ins, 7, b[i].call_id);
    sqlite3_bind_int64(ins, 8, b[i].cseq);
    bind_text(ins, 9, b[i].path);
    bind_text(ins, 10, b[i].instance);
    sqlite3_bind_int64(ins, 11, b[i].reg_id);
    bind_text(ins, 12, b[i].received);
    bind_text(ins, 13, b[i].user_agent);
    sqlite3_bind_int64(ins, 14, b[i].updated);
    rc = run(ins);
  }
  if (rc == SQLITE_OK)
    rc = run(s->q[Q_COMMIT]);
  /* The old set stays whole (store.h); SQLite may have rolled back already. */
  if (rc != SQLITE_OK && !sqlite3_get_autocommit(s->db))
    run(s->q[Q_ROLLBACK]);
  done(ctx, rc == SQLITE_OK ? 0 : map_rc(rc));
  return 0;
}

static const char *col(sqlite3_stmt *st, int i)
{
  return (const char *)sqlite3_column_text(st, i);
}

static int sq_get(void *user, const char *aor, int64_t now_ms, sipsrv_store_get_cb done, void *ctx)
{
  sql_store *s = user;
  sqlite3_stmt *st = s->q[Q_GET];
  sipsrv_binding small[16], *b = small;
  char *small_blocks[16], **blocks = small_blocks;
  size_t n = 0, cap = 16;
  int rc, err = 0;

  bind_text(st, 1, aor);
  sqlite3_bind_int64(st, 2, now_ms);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    sipsrv_binding row;
    if (n == cap) {
      sipsrv_binding *nb = ss_alloc(s->core, 2 * cap * sizeof *nb);
      char **nbl = ss_alloc(s->core, 2 * cap * sizeof *nbl);
      if (!nb || !nbl) {
        ss_free(s->core, nb);
        ss_free(s->core, nbl);
        err = SIPSRV_E_NOMEM;
        break;
      }
      memcpy(nb, b, n * sizeof *b);
      memcpy(nbl, blocks, n * sizeof *blocks);
      if (b != small) {
        ss_free(s->core, b);
        ss_free(s->core, blocks);
      }
      b = nb;
      blocks = nbl;
      cap *= 2;
    }
    row.contact = col(st, 0);
    row.params = col(st, 1);
    row.expires = sqlite3_column_int64(st, 2);
    row.q = sqlite3_column_int(st, 3);
    row.call_id = col(st, 4);
    row.cseq = (uint32_t)sqlite3_column_int64(st, 5);
    row.path = col(st, 6);
    row.instance = col(st, 7);
    row.reg_id = (uint32_t)sqlite3_column_int64(st, 8);
    row.received = col(st, 9);
    row.user_agent = col(st, 10);
    row.updated = sqlite3_column_int64(st, 11);
    if (!row.contact) {
      err = SIPSRV_E_STORE;               /* NOT NULL in the schema: damaged */
      break;
    }
    if (ss_binding_copy(s->core, &row, &b[n], &blocks[n]) < 0) {
      err = SIPSRV_E_NOMEM;
      break;
    }
    n++;
  }
  if (!err && rc != SQLITE_DONE)
    err = map_rc(rc);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (err)
    done(ctx, err, NULL, 0);
  else
    done(ctx, 0, b, n);
  for (size_t i = 0; i < n; i++)
    ss_free(s->core, blocks[i]);
  if (b != small) {
    ss_free(s->core, b);
    ss_free(s->core, blocks);
  }
  return 0;
}

static int sq_expire(void *user, int64_t now_ms)
{
  sql_store *s = user;
  int rc;
  /* Through the index on expires: only what is due is visited. */
  sqlite3_bind_int64(s->q[Q_EXPIRE], 1, now_ms);
  rc = run(s->q[Q_EXPIRE]);
  return rc == SQLITE_OK ? sqlite3_changes(s->db) : map_rc(rc);
}

static int sq_count(void *user)
{
  sql_store *s = user;
  sqlite3_stmt *st = NULL;
  int n = SIPSRV_E_STORE;
  /* Not on the call path: prepared each time. */
  if (sqlite3_prepare_v2(s->db, "SELECT COUNT(*) FROM binding", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    sqlite3_int64 c = sqlite3_column_int64(st, 0);
    n = c > 0x7fffffff ? 0x7fffffff : (int)c;
  }
  sqlite3_finalize(st);
  return n;
}

/* ---- credentials ------------------------------------------------------- */

static int sq_credential(void *user, const char *username, const char *realm,
                         sipsrv_store_cred_cb done, void *ctx)
{
  sql_store *s = user;
  sqlite3_stmt *st = s->q[Q_CRED];
  char ha1[3][129];
  const char *p[3] = { NULL, NULL, NULL };
  int rc;

  bind_text(st, 1, username);
  bind_text(st, 2, realm);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    for (int i = 0; i < 3; i++) {
      const char *v = col(st, i);
      /* A value too long for any digest is not served. */
      if (v && strlen(v) < sizeof ha1[i])
        p[i] = memcpy(ha1[i], v, strlen(v) + 1);
    }
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc == SQLITE_ROW) {
    sipsrv_credential c = { username, realm, p[0], p[1], p[2] };
    done(ctx, 0, &c);
  } else {
    done(ctx, rc == SQLITE_DONE ? SIPSRV_E_NOTFOUND : map_rc(rc), NULL);
  }
  return 0;
}

static int sq_put_credential(void *user, const sipsrv_credential *c)
{
  sql_store *s = user;
  sqlite3_stmt *st = s->q[Q_CRED_PUT];
  int rc;
  bind_text(st, 1, c->username);
  bind_text(st, 2, c->realm);
  bind_text(st, 3, c->ha1_md5);
  bind_text(st, 4, c->ha1_sha256);
  bind_text(st, 5, c->ha1_sha512_256);
  rc = run(st);
  return rc == SQLITE_OK ? 0 : map_rc(rc);
}

/* ---- life cycle -------------------------------------------------------- */

static void sq_destroy(void *user)
{
  sql_store *s = user;
  sipsrv_core *own = s->core;
  for (int i = 0; i < Q_N; i++)
    sqlite3_finalize(s->q[i]);
  sqlite3_close_v2(s->db);
  ss_free(own, s);
  sipsrv_core_free(own);
}

static const struct sipsrv_store_ops sqlite_store_ops = {
  SIPSRV_STORE_OPS_VERSION, sizeof(struct sipsrv_store_ops),
  sq_get, sq_put, sq_expire, sq_credential, sq_destroy, sq_put_credential, sq_count
};

/* Record why opening failed, naming the file and SQLite's own words. */
static int fail(const sipsrv_store_sqlite_cfg *cfg, int err, const char *what, sqlite3 *db)
{
  if (cfg->errmsg)
    snprintf(cfg->errmsg, cfg->errmsg_size, "%s: %s%s%s", cfg->path, what, db ? ": " : "",
             db ? sqlite3_errmsg(db) : "");
  return err;
}

/* The single value a PRAGMA returns, as an integer or as text. */
static int pragma(sqlite3 *db, const char *sql, sqlite3_int64 *num, char *text, size_t len)
{
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK)
    return rc;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    if (num)
      *num = sqlite3_column_int64(st, 0);
    if (text)
      snprintf(text, len, "%s", sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
    rc = SQLITE_OK;
  } else if (rc == SQLITE_DONE) {
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return rc;
}

/* Check the file is ours (or empty: then give it the schema), in one
 * transaction so two processes starting at once do not both create it. */
static int check_schema(sql_store *s, const sipsrv_store_sqlite_cfg *cfg)
{
  sqlite3_int64 app = 0, ver = 0, objects = 0;
  char why[96];
  int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return fail(cfg, map_rc(rc), "cannot write", s->db);
  if ((rc = pragma(s->db, "PRAGMA application_id", &app, NULL, 0)) != SQLITE_OK ||
      (rc = pragma(s->db, "PRAGMA user_version", &ver, NULL, 0)) != SQLITE_OK ||
      (rc = pragma(s->db, "SELECT count(*) FROM sqlite_master", &objects, NULL, 0)) != SQLITE_OK) {
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return fail(cfg, map_rc(rc), "cannot read", s->db);
  }
  if (app == 0 && ver == 0 && objects == 0) {
    rc = sqlite3_exec(s->db, schema_v1, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
      rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
      int err = fail(cfg, map_rc(rc), "cannot create the schema", s->db);
      sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
      return err;
    }
    return 0;
  }
  sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  if (app != APP_ID) {
    return fail(cfg, SIPSRV_E_STORE, "not a sipsrv database (another application's tables)", NULL);
  }
  if (ver != SIPSRV_STORE_SQLITE_SCHEMA) {
    snprintf(why, sizeof why, "schema version %lld, this library knows %d", (long long)ver,
             SIPSRV_STORE_SQLITE_SCHEMA);
    return fail(cfg, ver > SIPSRV_STORE_SQLITE_SCHEMA ? SIPSRV_E_VERSION : SIPSRV_E_STORE, why, NULL);
  }
  return 0;
}

static int open_db(sql_store *s, const sipsrv_store_sqlite_cfg *cfg)
{
  char text[128];
  int rc = sqlite3_open_v2(cfg->path, &s->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    return fail(cfg, rc == SQLITE_NOMEM ? SIPSRV_E_NOMEM : SIPSRV_E_IO, "cannot open", s->db);
  sqlite3_extended_result_codes(s->db, 1);
  sqlite3_busy_timeout(s->db, cfg->busy_timeout_ms);
  /* The first read of the file: garbage is reported here. */
  rc = pragma(s->db, "PRAGMA application_id", NULL, NULL, 0);
  if (rc != SQLITE_OK)
    return fail(cfg, map_rc(rc), "cannot read", s->db);
  if (sqlite3_db_readonly(s->db, "main") == 1)
    return fail(cfg, SIPSRV_E_IO, "not writable (permissions?)", NULL);
  /* WAL: readers never block the writer, and a commit is one append. */
  rc = pragma(s->db, "PRAGMA journal_mode = WAL", NULL, text, sizeof text);
  if (rc != SQLITE_OK)
    return fail(cfg, map_rc(rc), "cannot use WAL", s->db);
  if (strcmp(text, "wal") != 0)
    return fail(cfg, SIPSRV_E_IO, "cannot use WAL (is its directory writable?)", NULL);
  rc = sqlite3_exec(s->db, cfg->durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                    NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return fail(cfg, map_rc(rc), "cannot set synchronous", s->db);
  rc = check_schema(s, cfg);
  if (rc < 0)
    return rc;
  rc = pragma(s->db, "PRAGMA quick_check", NULL, text, sizeof text);
  if (rc != SQLITE_OK)
    return fail(cfg, map_rc(rc), "damaged", s->db);
  if (strcmp(text, "ok") != 0) {
    char why[160];
    snprintf(why, sizeof why, "damaged: %s", text);
    return fail(cfg, SIPSRV_E_STORE, why, NULL);
  }
  for (int i = 0; i < Q_N; i++) {
    rc = sqlite3_prepare_v3(s->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL);
    if (rc != SQLITE_OK)
      return fail(cfg, map_rc(rc), "unexpected schema", s->db);
  }
  return 0;
}

int sipsrv_store_sqlite_new(sipsrv_store **out, sipsrv_core *core, const sipsrv_store_sqlite_cfg *cfg)
{
  sql_store *s;
  sipsrv_core *own;
  int rc;

  if (!out || !cfg || !cfg->path || !*cfg->path || cfg->busy_timeout_ms < 0 ||
      (cfg->errmsg && !cfg->errmsg_size))
    return SIPSRV_E_INVAL;
  if (cfg->errmsg)
    cfg->errmsg[0] = '\0';
  rc = ss_store_core(core, &own);
  if (rc < 0)
    return rc;
  s = ss_zalloc(own, sizeof *s);
  if (!s) {
    sipsrv_core_free(own);
    return SIPSRV_E_NOMEM;
  }
  s->core = own;
  rc = open_db(s, cfg);
  if (rc == 0)
    rc = sipsrv_store_new(out, &sqlite_store_ops, s);
  if (rc < 0)
    sq_destroy(s);
  return rc;
}

void *ss_store_sqlite_db(sipsrv_store *store)
{
  return store && store->ops == &sqlite_store_ops ? ((sql_store *)store->user)->db : NULL;
}
