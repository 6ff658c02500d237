/* responses.c - error and blocked responses in the upstream formats. */
#include <stdio.h>
#include <string.h>

#include "proxy.h"

void px_resp_text(csb_buf *out, int status, const char *reason, const char *body, const char *proxy_error) {
  size_t bl = strlen(body);
  csb_buf_printf(out, "HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n", status, reason);
  if (proxy_error) csb_buf_printf(out, "x-proxy-error: %s\r\n", proxy_error);
  csb_buf_printf(out, "content-length: %zu\r\nconnection: close\r\n\r\n", bl);
  csb_buf_append(out, body, bl);
}

void px_resp_blocked_json(csb_buf *out, const char *host, csb_block_reason reason, const char *decision,
                          px_source source, const char *protocol, int port, int include_details) {
  csb_buf body;
  csb_buf_init(&body);
  csb_buf_puts(&body, "{\"status\":\"blocked\",\"host\":");
  csb_buf_put_json_string(&body, host, strlen(host));
  csb_buf_puts(&body, ",\"reason\":");
  const char *r = csb_block_reason_name(reason);
  csb_buf_put_json_string(&body, r, strlen(r));
  if (include_details) {
    csb_buf_printf(&body, ",\"decision\":\"%s\",\"source\":\"%s\",\"protocol\":", decision, px_source_name(source));
    csb_buf_put_json_string(&body, protocol, strlen(protocol));
    csb_buf_printf(&body, ",\"port\":%d,\"message\":", port);
    const char *m = csb_block_message(reason);
    csb_buf_put_json_string(&body, m, strlen(m));
  }
  csb_buf_putc(&body, '}');
  csb_buf_printf(out,
                 "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\nx-proxy-error: %s\r\n"
                 "content-length: %zu\r\nconnection: close\r\n\r\n",
                 csb_block_header_value(reason), body.len);
  csb_buf_append(out, body.data, body.len);
  csb_buf_free(&body);
}
