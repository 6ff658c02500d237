/* config.h - settings sources and listener addresses. */
#ifndef CSB_PROXY_CONFIG_H
#define CSB_PROXY_CONFIG_H

#include "proxy.h"

void px_limits_default(px_limits *l);
/* Applies a --config TOML file: network keys to np, [limits] to lim. On
 * failure *exit_code is 65 (unparsable TOML) or 78 (invalid settings). */
int px_config_load_toml(const char *path, csb_netpolicy *np, px_limits *lim, int *exit_code, csb_error *err);
/* Upstream parse_host_port: "http://h:p", "h:p", "[v6]:p", bare "v6". */
int px_parse_host_port(const char *url, int default_port, char *host, size_t hn, int *port, csb_error *err);
/* Listener address for a proxy_url/socks_url: names become 127.0.0.1, and
 * non-loopback addresses are clamped to 127.0.0.1 unless
 * dangerously_allow_non_loopback_proxy is set (never when Unix socket
 * proxying is enabled). */
int px_listen_addr(const char *url, int default_port, const csb_netpolicy *np, struct sockaddr_storage *out,
                   csb_error *err);

#endif
