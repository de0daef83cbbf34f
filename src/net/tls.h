/* tls.h -- the TLS side of a connection's transport (OpenSSL 3).
 *
 * A tls_ctx is the server's certificate and key: every TLS listener of a
 * server borrows the same one.  tls_ctx_reload() builds a new OpenSSL
 * context and puts it in place for the connections made from then on;
 * those made before keep the context they were made with (OpenSSL counts
 * its references), so a reload drops nobody.
 *
 * A tls is one non-blocking server-side connection.  Its calls never wait:
 * when OpenSSL needs the socket to be readable or writable first, they
 * fail with EAGAIN and tls_want() says which -- and that may be the other
 * direction (a read that must write, a write that must read), so the
 * caller waits for what tls_want() says, not for what it tried.
 *
 * Only TLS 1.2 and 1.3, no renegotiation, no compression; a peer that
 * closes without close_notify has simply closed.
 *
 * The client side (tls_ctx_new_client, tls_new_client) is a load
 * generator's: it checks no certificate at all, so it fits a test server's
 * self-signed one and must never carry anything worth protecting. */
#ifndef CHATD_TLS_H
#define CHATD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

#define TLS_WANT_READ  0x1
#define TLS_WANT_WRITE 0x2
#define TLS_RECORD     16384    /* the most one tls_write() takes */

struct tls_ctx;
struct tls;

/* A server context with the PEM certificate chain in cert_path and the key
 * in key_path.  Returns it, or NULL with a reason in err ("cannot load the
 * TLS certificate c.pem: no start line"). */
struct tls_ctx *tls_ctx_new(const char *cert_path, const char *key_path,
                            char err[ERR_LEN]);
/* Load the pair again into a new context for the connections made from
 * now on.  Returns 0, or -1 with a reason in err and the old pair kept. */
int tls_ctx_reload(struct tls_ctx *t, const char *cert_path,
                   const char *key_path, char err[ERR_LEN]);
/* Free t (connections still using its contexts keep them alive). */
void tls_ctx_free(struct tls_ctx *t);

/* A client context that accepts any certificate (no verification, no
 * host name check).  Returns it, or NULL with a reason in err. */
struct tls_ctx *tls_ctx_new_client(char err[ERR_LEN]);

/* A server-side connection on the connected socket fd (not owned: the
 * caller closes it after tls_free). */
struct tls *tls_new(struct tls_ctx *ctx, int fd);
/* A client-side connection on fd, as tls_new(): the first
 * tls_handshake() sends the ClientHello. */
struct tls *tls_new_client(struct tls_ctx *ctx, int fd);
/* Free t.  No alert is sent: call tls_shutdown() first for that. */
void tls_free(struct tls *t);

/* Go on with the handshake.  Returns 1 once it is done, 0 while it waits
 * (tls_want() says for what), -1 if it failed (tls_why() says why, errno
 * is ECONNRESET for a reset). */
int tls_handshake(struct tls *t);
/* Read into buf (len bytes at most, one record's worth or less).  Returns
 * the bytes read, 0 at the peer's end (close_notify or a bare close), or
 * -1 with errno: EAGAIN (tls_want() says for what), ECONNRESET, or
 * EPROTO (tls_why() says why). */
ssize_t tls_read(struct tls *t, void *buf, size_t len);
/* Write buf[0..len), len at most TLS_RECORD.  After EAGAIN the next call
 * must offer at least the same bytes again (they may be at another
 * address).  Returns the bytes written (all of len), or -1 with errno as
 * tls_read(). */
ssize_t tls_write(struct tls *t, const void *buf, size_t len);
/* After EAGAIN: TLS_WANT_READ or TLS_WANT_WRITE. */
int tls_want(const struct tls *t);
/* Bytes OpenSSL has read from the socket and not handed out yet: the
 * poller cannot see them, so the caller must read again without waiting. */
bool tls_has_pending(const struct tls *t);
/* After the handshake: the kernel encrypts what is sent (kTLS), so the
 * socket takes plain bytes (write, writev) as application data. */
bool tls_ktls_send(const struct tls *t);
/* Send close_notify, best effort, once; never waits. */
void tls_shutdown(struct tls *t);
/* Why the last call failed: a static or t-owned string. */
const char *tls_why(const struct tls *t);
/* "TLSv1.3" and the like, after the handshake. */
const char *tls_version(const struct tls *t);

#endif
