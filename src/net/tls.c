/* tls.c -- OpenSSL under a non-blocking server connection.
 *
 * Every call starts with an empty OpenSSL error queue and errno 0, so what
 * SSL_get_error() and errno say afterwards is about this connection and
 * this call, never a leftover of another client's. */
#include "net/tls.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "util/log.h"
#include "util/xmalloc.h"

#define WHY_LEN 96

struct tls_ctx {
    SSL_CTX *ssl_ctx;           /* owned (one reference): for new accepts */
};

struct tls {
    SSL  *ssl;                  /* owned; holds a reference to its SSL_CTX */
    int   want;                 /* TLS_WANT_*, after EAGAIN */
    bool  shut;                 /* close_notify tried, or must not be:
                                 * after a fatal error OpenSSL forbids it */
    char  why[WHY_LEN];
};

/* An encrypted key would make OpenSSL ask the terminal: refuse instead. */
static int
no_password(char *buf, int size, int rwflag, void *arg)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)arg;
    return 0;
}

/* OpenSSL's reason for the oldest error in its queue (the cause; later
 * ones say where it surfaced, e.g. "PEM lib"), which is emptied. */
static const char *
ssl_reason(void)
{
    unsigned long e = ERR_peek_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

    ERR_clear_error();
    return r != NULL ? r : "unknown error";
}

/* path names a file we can read, or err says why not. */
static int
readable(const char *what, const char *path, char err[ERR_LEN])
{
    if (access(path, R_OK) == 0)
        return 0;
    errf(err, "cannot load the TLS %s %s: %s", what, path, strerror(errno));
    return -1;
}

static SSL_CTX *
make_ctx(const char *cert_path, const char *key_path, char err[ERR_LEN])
{
    SSL_CTX *ctx;

    if (readable("certificate", cert_path, err) == -1 ||
        readable("key", key_path, err) == -1)
        return NULL;
    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        errf(err, "cannot make a TLS context: %s", ssl_reason());
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* No renegotiation; a close without close_notify is an end, not an
     * error; the kernel may take the sending (kTLS) if it can. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_ENABLE_KTLS);
    /* A write may stop after a record, its retry may come from another
     * address, and an idle connection gives back its record buffers. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    /* Resumption by tickets only: no server-side cache to grow. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_default_passwd_cb(ctx, no_password);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
        errf(err, "cannot load the TLS certificate %s: %s", cert_path,
             ssl_reason());
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
        errf(err, "cannot load the TLS key %s: %s", key_path, ssl_reason());
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        errf(err, "the TLS key %s does not match the certificate %s: %s",
             key_path, cert_path, ssl_reason());
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

struct tls_ctx *
tls_ctx_new(const char *cert_path, const char *key_path, char err[ERR_LEN])
{
    SSL_CTX *ctx = make_ctx(cert_path, key_path, err);
    struct tls_ctx *t;

    if (ctx == NULL)
        return NULL;
    t = xcalloc(1, sizeof(*t));
    t->ssl_ctx = ctx;
    return t;
}

int
tls_ctx_reload(struct tls_ctx *t, const char *cert_path,
               const char *key_path, char err[ERR_LEN])
{
    SSL_CTX *ctx = make_ctx(cert_path, key_path, err);

    if (ctx == NULL)
        return -1;
    /* Connections made with the old context hold references to it. */
    SSL_CTX_free(t->ssl_ctx);
    t->ssl_ctx = ctx;
    return 0;
}

void
tls_ctx_free(struct tls_ctx *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ssl_ctx);
    free(t);
}

struct tls_ctx *
tls_ctx_new_client(char err[ERR_LEN])
{
    struct tls_ctx *t;
    SSL_CTX *ctx;

    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        errf(err, "cannot make a TLS context: %s", ssl_reason());
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* As the server's, but the record buffers stay: a bench client reads
     * all the time, and giving them back would cost it on every read. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    t = xcalloc(1, sizeof(*t));
    t->ssl_ctx = ctx;
    return t;
}

/* A connection of ctx on fd; OpenSSL failing here is out of memory. */
static struct tls *
new_conn(struct tls_ctx *ctx, int fd)
{
    struct tls *t = xcalloc(1, sizeof(*t));

    ERR_clear_error();
    t->ssl = SSL_new(ctx->ssl_ctx);
    if (t->ssl == NULL || SSL_set_fd(t->ssl, fd) != 1) {
        log_warnx("SSL_new: %s", ssl_reason());
        abort();
    }
    return t;
}

struct tls *
tls_new(struct tls_ctx *ctx, int fd)
{
    struct tls *t = new_conn(ctx, fd);

    SSL_set_accept_state(t->ssl);
    return t;
}

struct tls *
tls_new_client(struct tls_ctx *ctx, int fd)
{
    struct tls *t = new_conn(ctx, fd);

    SSL_set_connect_state(t->ssl);
    return t;
}

void
tls_free(struct tls *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl);
    free(t);
}

/* What a failed call (it returned r, errno was saved in e) means: -1
 * with errno EAGAIN (t->want set), ECONNRESET or EPROTO (t->why set:
 * "what: OpenSSL's reason"), or 0 at the peer's end. */
static int
settle(struct tls *t, int r, int e, const char *what)
{
    switch (SSL_get_error(t->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        t->want = TLS_WANT_READ;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        t->want = TLS_WANT_WRITE;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        return 0;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        t->shut = true;
        if (e == 0)
            return 0;           /* a bare close */
        snprintf(t->why, sizeof(t->why), "%s", e == ECONNRESET || e == EPIPE
                 ? "connection reset by peer" : strerror(e));
        errno = e;
        return -1;
    default:
        t->shut = true;
        snprintf(t->why, sizeof(t->why), "%s: %s", what, ssl_reason());
        errno = EPROTO;
        return -1;
    }
}

int
tls_handshake(struct tls *t)
{
    int r;

    ERR_clear_error();
    errno = 0;
    r = SSL_do_handshake(t->ssl);
    if (r == 1)
        return 1;
    if (settle(t, r, errno, "TLS handshake failed") == 0) {
        snprintf(t->why, sizeof(t->why), "closed during the TLS handshake");
        errno = ECONNRESET;
        return -1;
    }
    return errno == EAGAIN ? 0 : -1;
}

ssize_t
tls_read(struct tls *t, void *buf, size_t len)
{
    int r;

    ERR_clear_error();
    errno = 0;
    r = SSL_read(t->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (r > 0)
        return r;
    return settle(t, r, errno, "TLS");
}

ssize_t
tls_write(struct tls *t, const void *buf, size_t len)
{
    int r;

    ERR_clear_error();
    errno = 0;
    r = SSL_write(t->ssl, buf, len > TLS_RECORD ? TLS_RECORD : (int)len);
    if (r > 0)
        return r;
    if (settle(t, r, errno, "TLS") == 0) {
        /* The peer said close_notify: nothing more can reach it. */
        snprintf(t->why, sizeof(t->why), "closed by peer");
        errno = EPIPE;
    }
    return -1;
}

int
tls_want(const struct tls *t)
{
    return t->want;
}

bool
tls_has_pending(const struct tls *t)
{
    /* Decrypted bytes only: SSL_has_pending() also counts a partial
     * record, which waits for the socket like anything else. */
    return SSL_pending(t->ssl) > 0;
}

bool
tls_ktls_send(const struct tls *t)
{
    return BIO_get_ktls_send(SSL_get_wbio(t->ssl));
}

void
tls_shutdown(struct tls *t)
{
    if (t->shut || !SSL_is_init_finished(t->ssl))
        return;
    t->shut = true;
    ERR_clear_error();
    /* One try: if the socket is full or gone, the peer does without. */
    if (SSL_shutdown(t->ssl) < 0)
        ERR_clear_error();
}

const char *
tls_why(const struct tls *t)
{
    return t->why[0] != '\0' ? t->why : "TLS: unknown error";
}

const char *
tls_version(const struct tls *t)
{
    return SSL_get_version(t->ssl);
}
