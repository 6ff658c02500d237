/* env.h - the environment csb-proxy gives to its child (or prints): proxy
 * variables, CA bundle variables, and the record that lets
 * `csb-proxy --strip-env` undo exactly those changes. */
#ifndef CSB_PROXY_ENV_H
#define CSB_PROXY_ENV_H

#include "csb_base.h"

#define PX_ENV_STATE_KEY "CSB_NETWORK_PROXY_ENV_STATE"
#define PX_ENV_BUNDLES_KEY "CSB_NETWORK_PROXY_CA_BUNDLES"

typedef struct px_env_change {
  char *key;
  char *value; /* NULL: remove the variable */
} px_env_change;

typedef struct px_env_changes {
  px_env_change *v;
  size_t n;
} px_env_changes;

typedef int (*px_can_read_fn)(void *ctx, const char *path);

typedef struct px_env_opts {
  const char *http_url;      /* "http://127.0.0.1:P" */
  const char *socks_url;     /* "socks5h://127.0.0.1:Q", or NULL */
  int allow_local_binding;
  int mitm;                  /* export CA variables */
  const char *ca_dir;        /* $CSB_HOME/proxy */
  const char *ca_pem;        /* exact ca.pem bytes */
  size_t ca_len;
  const char *baseline_pem;  /* system roots + ca.pem */
  size_t baseline_len;
  const char *baseline_path; /* persisted baseline bundle */
  const char *cwd;           /* for relative CA paths */
  px_can_read_fn can_read;   /* may the child read PATH? NULL: yes */
  void *can_read_ctx;
} px_env_opts;

/* Computes the changes for an environment (envp: NULL-terminated
 * KEY=VALUE). Persists materialised bundles in ca_dir. Warnings go to
 * stderr. */
int px_env_compute(const px_env_opts *o, char **envp, px_env_changes *out, csb_error *err);
/* The changes --strip-env makes to envp (undoing what csb-proxy added). */
void px_env_strip_changes(char **envp, px_env_changes *out);
/* A new environment with the changes applied (caller frees with
 * csb_strv_free). */
void px_env_apply(char **envp, const px_env_changes *ch, csb_strv *out);
/* Prints the changes: "sh" (export/unset lines) or "json" (an object,
 * null for removed variables). Keys sorted. */
void px_env_print(const px_env_changes *ch, const char *format, csb_buf *out);
void px_env_changes_free(px_env_changes *ch);

/* The CA variables (NULL-terminated). The proxy variables are libs/proxyenv's. */
extern const char *const px_ca_keys[];

#endif
