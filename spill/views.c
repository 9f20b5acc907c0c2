/* views.c - see views.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "views.h"

enum { TMP_GRACE_S = 24 * 3600 }; /* a temp file this old has no writer, whatever its pid */

typedef struct vobj {
    spill_views *v;
    void *inner;
    FILE *f;
    char tmp[64];
    uint64_t bytes;
} vobj;

static int is_text(const char *mime)
{
    return !strncmp(mime, "text/", 5) || !strcmp(mime, "application/json") ||
           strstr(mime, "+json") || strstr(mime, "xml");
}

/* <32 hex>.txt: the only names the quota may remove. */
static int is_view_name(const char *n)
{
    if (strlen(n) != SPILL_ID_HEX + 4 || strcmp(n + SPILL_ID_HEX, ".txt") != 0)
        return 0;
    for (int i = 0; i < SPILL_ID_HEX; i++)
        if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
            return 0;
    return 1;
}

/* .tmp-<pid>-...: 1 when its writer is gone (or it is too old to have one). */
static int dead_temp(const char *n, const struct stat *sb, time_t now)
{
    long pid = strtol(n + 5, NULL, 10);
    return (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) || now - sb->st_mtime > TMP_GRACE_S;
}

typedef struct vent { char name[SPILL_ID_HEX + 8]; time_t mtime; uint64_t size; } vent;
static int by_age(const void *a, const void *b)
{
    const vent *x = a, *y = b;
    return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* Totals views and live temp files, removes temp files of dead writers, and the
 * oldest views while over the quota. */
static void enforce_quota(spill_views *v)
{
    int dfd = fcntl(v->fd, F_DUPFD_CLOEXEC, 0); /* never inherited by a worker */
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return;
    }
    size_t n = 0, cap = 64;
    vent *e = malloc(cap * sizeof *e);
    struct dirent *de;
    uint64_t total = 0;
    time_t now = time(NULL);
    while (e && (de = readdir(d)) != NULL) {
        struct stat sb;
        int view = is_view_name(de->d_name), tmp = !strncmp(de->d_name, ".tmp-", 5);
        if ((!view && !tmp) || fstatat(v->fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(sb.st_mode))
            continue;
        if (tmp) {
            if (!dead_temp(de->d_name, &sb, now) || unlinkat(v->fd, de->d_name, 0) != 0)
                total += (uint64_t)sb.st_size;
            continue;
        }
        if (n == cap) {
            vent *m = realloc(e, (cap *= 2) * sizeof *e);
            if (!m)
                break;
            e = m;
        }
        snprintf(e[n].name, sizeof e[n].name, "%s", de->d_name);
        e[n].mtime = sb.st_mtime;
        e[n].size = (uint64_t)sb.st_size;
        total += e[n].size;
        n++;
    }
    if (e && total > v->quota) {
        qsort(e, n, sizeof *e, by_age);
        for (size_t i = 0; i < n && total > v->quota; i++)
            if (unlinkat(v->fd, e[i].name, 0) == 0)
                total -= e[i].size;
    }
    v->total = total;
    free(e);
    closedir(d);
}

/* An unpredictable name, created exclusively: nothing planted at a guessed name (a
 * hard link to someone's file, a symlink) is ever written through. */
static int open_temp(spill_views *v, char name[64])
{
    for (int tries = 0; tries < 16; tries++) {
        uint64_t r;
        if (getrandom(&r, sizeof r, 0) != sizeof r) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            r = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)tries;
        }
        snprintf(name, 64, ".tmp-%ld-%016llx", (long)getpid(), (unsigned long long)r);
        int fd = openat(v->fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

static int v_begin(void *ctx, void **obj, const spill_put_info *pi)
{
    spill_views *v = ctx;
    vobj *o = calloc(1, sizeof *o);
    if (!o)
        return SPILL_E_NOMEM;
    o->v = v;
    int rc = v->inner->begin(v->inner->ctx, &o->inner, pi);
    if (rc) {
        free(o);
        return rc;
    }
    if (v->ok) {
        int fd = open_temp(v, o->tmp);
        o->f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!o->f && fd >= 0) {
            close(fd);
            unlinkat(v->fd, o->tmp, 0);
        }
    }
    *obj = o;
    return 0;
}

static void drop_temp(vobj *o)
{
    if (o->f) {
        fclose(o->f);
        o->f = NULL;
        unlinkat(o->v->fd, o->tmp, 0);
    }
}

static int v_write(void *obj, const void *p, size_t n)
{
    vobj *o = obj;
    if (o->f && fwrite(p, 1, n, o->f) != n) /* a view is a cache: drop it, keep going */
        drop_temp(o);
    o->bytes += n;
    return o->v->inner->write(o->inner, p, n);
}

static int v_commit(void *obj, const char *mime, uint64_t tokens, const char *counter,
                    spill_object_info *info)
{
    vobj *o = obj;
    spill_views *v = o->v;
    int rc = v->inner->commit(o->inner, mime, tokens, counter, info);
    if (rc == 0 && o->f && is_text(info->mime) && o->bytes <= v->quota) {
        char name[SPILL_ID_HEX + 8];
        snprintf(name, sizeof name, "%s.txt", info->id);
        int ok = fclose(o->f) == 0;
        o->f = NULL;
        if (ok && renameat(v->fd, o->tmp, v->fd, name) == 0) {
            snprintf(info->view, sizeof info->view, "%s/%s", v->dir, name);
            if ((v->total += o->bytes) > v->quota)
                enforce_quota(v);
        } else {
            unlinkat(v->fd, o->tmp, 0);
        }
    }
    drop_temp(o);
    free(o);
    return rc;
}

static void v_abort(void *obj)
{
    vobj *o = obj;
    o->v->inner->abort(o->inner);
    drop_temp(o);
    free(o);
}

static const char *v_error(void *ctx)
{
    spill_views *v = ctx;
    return v->inner->last_error ? v->inner->last_error(v->inner->ctx) : NULL;
}

/* views/ as a directory fd: never through a symlink, and only ours. */
static int open_dir(spill_views *v, const char *store_dir)
{
    int root = open(store_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        snprintf(v->why, sizeof v->why, "cannot open %s: %s", store_dir, strerror(errno));
        return -1;
    }
    if (mkdirat(root, "views", 0700) != 0 && errno != EEXIST) {
        snprintf(v->why, sizeof v->why, "cannot create %.200s: %s", v->dir, strerror(errno));
        close(root);
        return -1;
    }
    int fd = openat(root, "views", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(root);
    struct stat sb;
    if (fd < 0) {
        snprintf(v->why, sizeof v->why, "%.200s is not a plain directory: %s", v->dir, strerror(e));
        return -1;
    }
    if (fstat(fd, &sb) != 0 || sb.st_uid != geteuid() || (sb.st_mode & (S_IWGRP | S_IWOTH))) {
        snprintf(v->why, sizeof v->why, "%.180s is not ours alone (owner or mode): fix it with chmod 700",
                 v->dir);
        close(fd);
        return -1;
    }
    return fd;
}

void spill_views_wrap(spill_views *v, const char *store_dir, uint64_t quota,
                      const spill_object_sink *inner, spill_object_sink *outer)
{
    memset(v, 0, sizeof *v);
    snprintf(v->dir, sizeof v->dir, "%s/views", store_dir);
    v->quota = quota;
    v->inner = inner;
    v->fd = open_dir(v, store_dir);
    v->ok = v->fd >= 0;
    if (v->ok)
        enforce_quota(v);
    outer->ctx = v;
    outer->begin = v_begin;
    outer->write = v_write;
    outer->commit = v_commit;
    outer->abort = v_abort;
    outer->last_error = v_error;
}

void spill_views_close(spill_views *v)
{
    if (v->fd >= 0)
        close(v->fd);
    v->fd = -1;
    v->ok = 0;
}
